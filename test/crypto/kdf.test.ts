/**
 * KDFa and KDFe against OpenSSL 3's own implementations of the same NIST
 * constructions: KBKDF (SP 800-108 counter mode, HMAC, with the 0x00
 * separator and [L]32 that KDFa uses) and SSKDF (SP 800-56C one-step with a
 * hash, FixedInfo = Label||0x00||PartyUInfo||PartyVInfo as KDFe builds it).
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import { kdfa, kdfe } from '../../shared/crypto/kdf.js';

function openssl(kdf: 'KBKDF' | 'SSKDF', digest: string, bytes: number, opts: string[]): string {
  const args = ['kdf', '-keylen', String(bytes), '-kdfopt', `digest:${digest}`, ...opts.flatMap((o) => ['-kdfopt', o]), kdf];
  return execFileSync('openssl', args, { encoding: 'utf8' }).trim().replace(/:/g, '').toLowerCase();
}

interface Hash {
  alg: number;
  openssl: string;
}

const HASHES: Hash[] = [
  { alg: TPM_ALG.SHA1, openssl: 'SHA1' },
  { alg: TPM_ALG.SHA256, openssl: 'SHA256' },
  { alg: TPM_ALG.SHA384, openssl: 'SHA384' },
  { alg: TPM_ALG.SHA512, openssl: 'SHA512' },
];

t.test('known answers (computed with openssl kdf)', async (t) => {
  const key = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  t.equal(
    kdfa(TPM_ALG.SHA256, key, 'STORAGE', Buffer.from('000b', 'hex'), Buffer.from('1122', 'hex'), 256).toString('hex'),
    'b72d1c4208a79d67ac9fa1739f7f40ff85fb72a824aa5a1765dc3da48069d045',
  );
  t.equal(
    kdfe(TPM_ALG.SHA256, Buffer.from('000102', 'hex'), 'IDENTITY', Buffer.from('aa', 'hex'), Buffer.from('bb', 'hex'), 256).toString('hex'),
    'f5dbcd0492df1525296db452a064afe8e9c9c826f248dd810efc1411a660763e',
  );
});

/** For each hash and output length, our derivation and OpenSSL's from the same fresh random inputs must agree. */
function matchesOpenssl(t: Test, lengths: number[], derive: (h: Hash, bytes: number) => { ours: Buffer; theirs: string }): void {
  for (const h of HASHES) {
    for (const bytes of lengths) {
      const { ours, theirs } = derive(h, bytes);
      t.equal(ours.toString('hex'), theirs, `${h.openssl}, ${bytes} bytes`);
    }
  }
}

t.test('KDFa equals OpenSSL KBKDF', async (t) => {
  matchesOpenssl(t, [16, 32, 80], (h, bytes) => {
    const [key, u, v] = [randomBytes(32), randomBytes(34), randomBytes(5)];
    return {
      ours: kdfa(h.alg, key, 'INTEGRITY', u, v, bytes * 8),
      theirs: openssl('KBKDF', h.openssl, bytes, ['mac:HMAC', `hexkey:${key.toString('hex')}`, 'salt:INTEGRITY', `hexinfo:${Buffer.concat([u, v]).toString('hex')}`]),
    };
  });
});

t.test('KDFe equals OpenSSL SSKDF', async (t) => {
  matchesOpenssl(t, [20, 32, 100], (h, bytes) => {
    const [z, u, v] = [randomBytes(48), randomBytes(48), randomBytes(48)];
    const info = Buffer.concat([Buffer.from('IDENTITY\0'), u, v]).toString('hex');
    return {
      ours: kdfe(h.alg, z, 'IDENTITY', u, v, bytes * 8),
      theirs: openssl('SSKDF', h.openssl, bytes, [`hexkey:${z.toString('hex')}`, `hexinfo:${info}`]),
    };
  });
});

t.test('label NUL and partial bytes (Part 1 §11.4.10.2)', async (t) => {
  const key = randomBytes(32);
  const withNul = kdfa(TPM_ALG.SHA256, key, 'STORAGE\0', Buffer.alloc(0), Buffer.alloc(0), 128);
  t.ok(withNul.equals(kdfa(TPM_ALG.SHA256, key, 'STORAGE', Buffer.alloc(0), Buffer.alloc(0), 128)), 'a terminating NUL is not doubled');
  // 13 bits: two bytes, the top three bits of the first cleared; [L]32 is 13.
  const k13 = kdfa(TPM_ALG.SHA256, key, 'X', Buffer.alloc(0), Buffer.alloc(0), 13);
  const block = createHmac('sha256', key).update(Buffer.from('00000001' + '5800' + '0000000d', 'hex')).digest();
  t.equal(k13.length, 2);
  t.equal(k13[0], block[0] & 0x1f);
  t.equal(k13[1], block[1]);
  t.throws(() => kdfa(TPM_ALG.SHA256, key, 'X', Buffer.alloc(0), Buffer.alloc(0), 0), RangeError);
  t.throws(() => kdfa(0x0099, key, 'X', Buffer.alloc(0), Buffer.alloc(0), 8), { name: 'UnsupportedAlgorithmError' });
});
