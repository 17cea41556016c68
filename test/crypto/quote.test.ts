import t from 'tap';
import { createHash, generateKeyPairSync, sign, constants } from 'node:crypto';
import { TPM_ALG, TPM_ECC, TPM_GENERATED_VALUE, TPM_ST } from '../../shared/tpm/constants.js';
import { marshalAttest, unmarshalAttest, type TpmAttest } from '../../shared/tpm/attest.js';
import { buildPcrSelection, selectionOrder } from '../../shared/tpm/pcr-selection.js';
import { unmarshalPublic, type TpmPublic } from '../../shared/tpm/public.js';
import { unmarshalSignature, type TpmSignature } from '../../shared/tpm/signature.js';
import { publicWithKey } from '../../shared/crypto/keys.js';
import { pcrDigest, verifyQuoteSignature } from '../../shared/crypto/quote.js';
import { readWireJson } from '../helpers/acs-wire.js';

const ak = unmarshalPublic(Buffer.from(readWireJson('enroll-request.json').akpub as string, 'hex'));

for (const f of ['quote-request-full.json', 'quote-request-incremental.json']) {
  t.test(`${f}: the IBM AK's signature verifies, and only over these bytes`, async (t) => {
    const q = readWireJson(f);
    const quoted = Buffer.from(q.quoted as string, 'hex');
    const sigBytes = Buffer.from(q.signature as string, 'hex');
    t.ok(verifyQuoteSignature(ak, quoted, unmarshalSignature(sigBytes)));
    let allFail = true;
    for (const i of [0, 10, 50, quoted.length - 1]) {
      const bad = Buffer.from(quoted);
      bad[i] ^= 0x01;
      if (verifyQuoteSignature(ak, bad, unmarshalSignature(sigBytes))) allFail = false;
    }
    t.ok(allFail, 'a flipped byte of quoted fails');
    allFail = true;
    for (const i of [6, 100, sigBytes.length - 1]) {
      const bad = Buffer.from(sigBytes);
      bad[i] ^= 0x80;
      if (verifyQuoteSignature(ak, quoted, unmarshalSignature(bad))) allFail = false;
    }
    t.ok(allFail, 'a flipped byte of the signature fails');
    const sig = unmarshalSignature(sigBytes);
    t.notOk(verifyQuoteSignature(ak, quoted, { ...sig, sigAlg: TPM_ALG.RSAPSS } as TpmSignature), 'another scheme than the AK fixes');
    t.notOk(verifyQuoteSignature(ak, quoted, { ...sig, hashAlg: TPM_ALG.SHA1 } as TpmSignature), 'another hash than the AK fixes');
    t.notOk(verifyQuoteSignature(ak, quoted, { ...sig, sig: sig.sigAlg === TPM_ALG.ECDSA ? Buffer.alloc(0) : sig.sig.subarray(1) } as TpmSignature), 'short signature');
  });
}

t.test('one quote\'s signature does not verify another quote', async (t) => {
  const other = readWireJson('quote-request-full.json');
  const incr = readWireJson('quote-request-incremental.json');
  t.notOk(verifyQuoteSignature(ak, Buffer.from(other.quoted as string, 'hex'), unmarshalSignature(Buffer.from(incr.signature as string, 'hex'))));
});

function template(type: 'rsa' | 'ecc', scheme: number, curveId: number = TPM_ECC.NIST_P256): TpmPublic {
  const common = { nameAlg: TPM_ALG.SHA256, objectAttributes: 0x00050472, authPolicy: Buffer.alloc(0) };
  const sym = { algorithm: TPM_ALG.NULL, keyBits: 0, mode: TPM_ALG.NULL };
  const s = { scheme, hashAlg: TPM_ALG.SHA256 };
  return type === 'rsa'
    ? { ...common, type: TPM_ALG.RSA, parameters: { symmetric: sym, scheme: s, keyBits: 2048, exponent: 0 }, unique: { n: Buffer.alloc(0) } }
    : { ...common, type: TPM_ALG.ECC, parameters: { symmetric: sym, scheme: s, curveId, kdf: { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL } }, unique: { x: Buffer.alloc(0), y: Buffer.alloc(0) } };
}

const attest: TpmAttest = {
  magic: TPM_GENERATED_VALUE,
  type: TPM_ST.ATTEST_QUOTE,
  qualifiedSigner: Buffer.alloc(0),
  extraData: Buffer.alloc(32, 7),
  clockInfo: { clock: 1n, resetCount: 0, restartCount: 0, safe: true },
  firmwareVersion: 0n,
  attested: { quote: { pcrSelect: buildPcrSelection([[TPM_ALG.SHA256, [0]]]), pcrDigest: Buffer.alloc(32) } },
};
const quoted = marshalAttest(attest);

t.test('ECDSA-SHA256 (P-256) signatures from r and s', async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pub = publicWithKey(template('ecc', TPM_ALG.ECDSA), publicKey);
  for (let i = 0; i < 20; i++) {
    const rs = sign('sha256', quoted, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    // A TPM may strip leading zero bytes of r and s.
    const strip = (b: Buffer) => b.subarray(b.findIndex((x) => x !== 0));
    const sig: TpmSignature = { sigAlg: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256, r: strip(rs.subarray(0, 32)), s: strip(rs.subarray(32)) };
    if (!verifyQuoteSignature(pub, quoted, sig)) t.fail(`signature ${i}`);
    const bad = Buffer.from(quoted);
    bad[40] ^= 1;
    if (verifyQuoteSignature(pub, bad, sig)) t.fail(`tampered ${i}`);
  }
  t.pass('20 signatures verify, their tampered quotes do not');
  const rs = sign('sha256', quoted, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  t.notOk(verifyQuoteSignature(pub, quoted, { sigAlg: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256, r: Buffer.alloc(33, 1), s: rs.subarray(32) }), 'oversized r');
  t.notOk(verifyQuoteSignature(pub, quoted, { sigAlg: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256, sig: rs }), 'RSA scheme on an ECC key');
});

t.test('RSAPSS-SHA256 signatures', async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pub = publicWithKey(template('rsa', TPM_ALG.RSAPSS), publicKey);
  const sig = sign('sha256', quoted, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  t.ok(verifyQuoteSignature(pub, quoted, { sigAlg: TPM_ALG.RSAPSS, hashAlg: TPM_ALG.SHA256, sig }));
  t.notOk(verifyQuoteSignature(pub, quoted, { sigAlg: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256, sig }), 'PKCS#1 v1.5 is not PSS');
  const unfixed = publicWithKey(template('rsa', TPM_ALG.NULL), publicKey);
  t.ok(verifyQuoteSignature(unfixed, quoted, { sigAlg: TPM_ALG.RSAPSS, hashAlg: TPM_ALG.SHA256, sig }), 'a key without a fixed scheme accepts any RSA scheme');
  t.notOk(verifyQuoteSignature(unfixed, quoted, { sigAlg: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256, r: sig.subarray(0, 32), s: sig.subarray(32, 64) }));
});

t.test('pcrDigest is H(PCR values in selection order) (Part 3 §18.4)', async (t) => {
  const sel = buildPcrSelection([[TPM_ALG.SHA256, [2, 0]], [TPM_ALG.SHA1, [1]]]);
  const values = new Map<string, Buffer>([
    ['11:0', Buffer.alloc(32, 0xa0)],
    ['11:2', Buffer.alloc(32, 0xa2)],
    ['4:1', Buffer.alloc(20, 0xb1)],
  ]);
  const ordered = selectionOrder(sel).map((e) => values.get(`${e.hashAlg}:${e.pcr}`) as Buffer);
  const expected = createHash('sha256').update(Buffer.concat([Buffer.alloc(32, 0xa0), Buffer.alloc(32, 0xa2), Buffer.alloc(20, 0xb1)])).digest();
  t.ok(pcrDigest(TPM_ALG.SHA256, ordered).equals(expected));
  t.equal(pcrDigest(TPM_ALG.SHA384, ordered).length, 48);
  t.equal(pcrDigest(TPM_ALG.SHA256, []).toString('hex'), createHash('sha256').digest('hex'));
  // The quote's own digest is over PCR values this test cannot know; the replay tests check it against the logs.
  t.equal(unmarshalAttest(quoted).type, TPM_ST.ATTEST_QUOTE);
});
