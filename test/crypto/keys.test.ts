import t from 'tap';
import { createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { TPM_ALG, TPM_ECC } from '../../shared/tpm/constants.js';
import { unmarshalPublic, type EccPublic, type RsaPublic } from '../../shared/tpm/public.js';
import { KeyError, keyMatchesPublic, publicKeyFromTpm, publicWithKey, uniqueFromKey } from '../../shared/crypto/keys.js';
import { readWireJson } from '../helpers/acs-wire.js';

const ak = unmarshalPublic(Buffer.from(readWireJson('enroll-request.json').akpub as string, 'hex')) as RsaPublic;
const akCert = new X509Certificate(readWireJson('enrollcert-response.json').akcert as string);

t.test('the IBM AK certificate carries the akpub key', async (t) => {
  t.ok(keyMatchesPublic(akCert.publicKey, ak));
  const jwk = publicKeyFromTpm(ak).export({ format: 'jwk' });
  t.equal(jwk.e, 'AQAB', 'exponent 0 is 65537');
  t.equal(Buffer.from(jwk.n as string, 'base64url').toString('hex'), ak.unique.n.toString('hex'));
  const other = { ...ak, unique: { n: Buffer.from(ak.unique.n) } };
  other.unique.n[255] ^= 2;
  t.notOk(keyMatchesPublic(akCert.publicKey, other), 'a different modulus');
  t.notOk(keyMatchesPublic(akCert.publicKey, { ...ak, parameters: { ...ak.parameters, exponent: 3 } }), 'a different exponent');
  const ekNv = Buffer.from(readWireJson('enroll-request.json').ekcert as string, 'hex');
  const ekCert = new X509Certificate(ekNv.subarray(0, 4 + ekNv.readUInt16BE(2)));
  t.notOk(keyMatchesPublic(ekCert.publicKey, ak), 'the EK is not the AK');
});

t.test('ECC keys on P-256, P-384 and P-521 convert both ways', async (t) => {
  for (const [curveId, name, size] of [[TPM_ECC.NIST_P256, 'P-256', 32], [TPM_ECC.NIST_P384, 'P-384', 48], [TPM_ECC.NIST_P521, 'P-521', 66]] as const) {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: name });
    const u = uniqueFromKey(publicKey);
    if (!('point' in u)) throw new Error('not EC');
    t.equal(u.curveId, curveId);
    t.equal(u.point.x.length, size);
    const pub: EccPublic = {
      type: TPM_ALG.ECC,
      nameAlg: TPM_ALG.SHA256,
      objectAttributes: 0,
      authPolicy: Buffer.alloc(0),
      parameters: { symmetric: { algorithm: TPM_ALG.NULL, keyBits: 0, mode: TPM_ALG.NULL }, scheme: { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL }, curveId, kdf: { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL } },
      unique: u.point,
    };
    t.ok(publicKeyFromTpm(pub).equals(publicKey), name);
    t.ok(keyMatchesPublic(publicKey, pub));
    // Leading zero bytes dropped by a TPM are restored.
    const stripped = { ...pub, unique: { x: u.point.x[0] === 0 ? u.point.x.subarray(1) : u.point.x, y: u.point.y } };
    t.ok(keyMatchesPublic(publicKey, stripped));
  }
});

t.test('invalid keys give KeyError or false', async (t) => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const u = uniqueFromKey(publicKey);
  if (!('point' in u)) throw new Error('not EC');
  const offCurve: EccPublic = {
    type: TPM_ALG.ECC,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: 0,
    authPolicy: Buffer.alloc(0),
    parameters: { symmetric: { algorithm: TPM_ALG.NULL, keyBits: 0, mode: TPM_ALG.NULL }, scheme: { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL }, curveId: TPM_ECC.NIST_P256, kdf: { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL } },
    unique: { x: u.point.x, y: Buffer.from(u.point.y.map((b, i) => (i === 31 ? b ^ 1 : b))) },
  };
  t.throws(() => publicKeyFromTpm(offCurve), KeyError);
  t.notOk(keyMatchesPublic(publicKey, offCurve));
  t.throws(() => publicKeyFromTpm({ ...offCurve, parameters: { ...offCurve.parameters, curveId: 0x0010 } }), { name: 'UnsupportedAlgorithmError' });
  t.throws(() => publicKeyFromTpm({ ...ak, unique: { n: Buffer.alloc(0) } }), KeyError);
  t.throws(() => publicWithKey(ak, publicKey), KeyError, 'EC key into an RSA template');
  const ed = generateKeyPairSync('ed25519').publicKey;
  t.throws(() => uniqueFromKey(ed), KeyError);
  t.notOk(keyMatchesPublic(ed, ak));
});

t.test('publicWithKey keeps the template encoding of the exponent', async (t) => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  t.equal((publicWithKey(ak, publicKey) as RsaPublic).parameters.exponent, 0);
  t.equal((publicWithKey({ ...ak, parameters: { ...ak.parameters, exponent: 65537 } }, publicKey) as RsaPublic).parameters.exponent, 65537);
  const e3 = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey;
  const p3 = publicWithKey(ak, e3) as RsaPublic;
  t.equal(p3.parameters.exponent, 3);
  t.ok(publicKeyFromTpm(p3).equals(createPublicKey(e3.export({ format: 'pem', type: 'spki' }))));
});
