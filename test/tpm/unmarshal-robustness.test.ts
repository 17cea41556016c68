/**
 * Every unmarshaler, fed truncated, mutated or random bytes, either returns
 * a structure or throws MarshalError (or a subclass): never another
 * exception, a hang or a huge allocation.
 */
import t from 'tap';
import { MarshalError } from '../../shared/tpm/buffer.js';
import { unmarshalAttest } from '../../shared/tpm/attest.js';
import { objectName } from '../../shared/tpm/name.js';
import { unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import { unmarshalPublic, unmarshalPublic2b } from '../../shared/tpm/public.js';
import { unmarshalSignature } from '../../shared/tpm/signature.js';
import { unmarshalEncryptedSecret, unmarshalIdObject } from '../../shared/tpm/tpm2b.js';
import { readWireJson } from '../helpers/acs-wire.js';

const hex = (file: string, key: string) => Buffer.from(readWireJson(file)[key] as string, 'hex');
const akpub = hex('enroll-request.json', 'akpub');
// ECC P-256 ECDSA-SHA256 signing key: type, nameAlg, attributes, policy, symmetric, scheme, curve, kdf, x, y.
const eccPub = Buffer.from(
  '0023' + '000b' + '00050472' + '0000' + '0010' + '0018000b' + '0003' + '0010' + '0020' + '11'.repeat(32) + '0020' + '22'.repeat(32),
  'hex',
);

const parsers: { name: string; parse: (b: Buffer) => unknown; sample: Buffer }[] = [
  { name: 'TPMT_PUBLIC (RSA)', parse: unmarshalPublic, sample: akpub },
  { name: 'TPMT_PUBLIC (ECC)', parse: unmarshalPublic, sample: eccPub },
  { name: 'TPM2B_PUBLIC', parse: unmarshalPublic2b, sample: Buffer.concat([Buffer.from([1, 24]), akpub]) },
  { name: 'object name', parse: objectName, sample: akpub },
  { name: 'TPMS_ATTEST', parse: unmarshalAttest, sample: hex('quote-request-full.json', 'quoted') },
  { name: 'TPMT_SIGNATURE', parse: unmarshalSignature, sample: hex('quote-request-full.json', 'signature') },
  { name: 'TPML_PCR_SELECTION', parse: unmarshalPcrSelection, sample: hex('nonce-response.json', 'pcrselect') },
  { name: 'TPM2B_ID_OBJECT', parse: unmarshalIdObject, sample: hex('enroll-response.json', 'credentialblob') },
  { name: 'TPM2B_ENCRYPTED_SECRET', parse: unmarshalEncryptedSecret, sample: hex('enroll-response.json', 'secret') },
];

/** xorshift32: reproducible garbage. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function outcome(parse: (b: Buffer) => unknown, input: Buffer): 'ok' | 'marshal' | Error {
  try {
    parse(input);
    return 'ok';
  } catch (err) {
    return err instanceof MarshalError ? 'marshal' : (err as Error);
  }
}

for (const p of parsers) {
  t.test(p.name, async (t) => {
    t.equal(outcome(p.parse, p.sample), 'ok', 'the sample parses');
    let truncOk = true;
    for (let n = 0; n < p.sample.length; n++) {
      if (outcome(p.parse, p.sample.subarray(0, n)) !== 'marshal') truncOk = false;
    }
    t.ok(truncOk, 'every truncation is a MarshalError');

    const next = rng(0x5eed + p.sample.length);
    const foreign: Error[] = [];
    for (let i = 0; i < 3000; i++) {
      const m = Buffer.from(p.sample);
      const flips = 1 + (next() % 3);
      for (let k = 0; k < flips; k++) m[next() % m.length] = next() & 0xff;
      const r = outcome(p.parse, m);
      if (r instanceof Error) foreign.push(r);
    }
    for (let i = 0; i < 2000; i++) {
      const g = Buffer.alloc(next() % 700);
      for (let k = 0; k < g.length; k++) g[k] = next() & 0xff;
      const r = outcome(p.parse, g);
      if (r instanceof Error) foreign.push(r);
    }
    t.same(foreign.map((e) => `${e.name}: ${e.message}`).slice(0, 3), [], 'mutations and garbage give only MarshalError');
  });
}
