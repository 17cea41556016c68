import t from 'tap';
import { createHash } from 'node:crypto';
import { BufferReader, BufferWriter, MarshalError } from '../../shared/tpm/buffer.js';
import { TPM_ALG, TPM_ECC, TPMA_OBJECT } from '../../shared/tpm/constants.js';
import { objectName } from '../../shared/tpm/name.js';
import {
  marshalPublic,
  marshalPublic2b,
  readPublic,
  unmarshalPublic,
  unmarshalPublic2b,
  UnsupportedAlgorithmError,
  writePublic,
  type EccPublic,
} from '../../shared/tpm/public.js';
import { readWireJson } from '../helpers/acs-wire.js';

const akpub = Buffer.from(readWireJson('enroll-request.json').akpub as string, 'hex');

t.test('IBM akpub unmarshals to a restricted RSA-2048 RSASSA-SHA256 signing key', async (t) => {
  const p = unmarshalPublic(akpub);
  t.equal(p.type, TPM_ALG.RSA);
  t.equal(p.nameAlg, TPM_ALG.SHA256);
  t.equal(p.objectAttributes, 0x00050472);
  const a = TPMA_OBJECT;
  t.equal(p.objectAttributes, a.fixedTPM | a.fixedParent | a.sensitiveDataOrigin | a.userWithAuth | a.noDA | a.restricted | a.sign);
  t.equal(p.objectAttributes & a.decrypt, 0);
  t.equal(p.authPolicy.length, 0);
  if (p.type !== TPM_ALG.RSA) throw new Error('not RSA');
  t.same(p.parameters.symmetric, { algorithm: TPM_ALG.NULL, keyBits: 0, mode: TPM_ALG.NULL });
  t.same(p.parameters.scheme, { scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256 });
  t.equal(p.parameters.keyBits, 2048);
  t.equal(p.parameters.exponent, 0);
  t.equal(p.unique.n.length, 256);
  t.equal(p.unique.n.subarray(0, 4).toString('hex'), 'c076c3eb');
  t.equal(akpub.subarray(-4).toString('hex'), p.unique.n.subarray(252).toString('hex'));
  t.ok(marshalPublic(p).equals(akpub), 're-marshals to the identical bytes');
});

t.test('object name of akpub is nameAlg || SHA-256(TPMT_PUBLIC)', async (t) => {
  // Computed independently with Python hashlib over the fixture bytes.
  const expected = '000b7191034f1cd930d36da5d636a971e2b1da7cd747ce189e3b8d6cfdd0c089806f';
  t.equal(objectName(akpub).toString('hex'), expected);
  t.equal(objectName(unmarshalPublic(akpub)).toString('hex'), expected);
  const changed = Buffer.from(akpub);
  changed[7] ^= 0x01; // objectAttributes low byte: a different key has a different name
  t.not(objectName(changed).toString('hex'), expected);
});

const eccAk: EccPublic = {
  type: TPM_ALG.ECC,
  nameAlg: TPM_ALG.SHA256,
  objectAttributes: 0x00050472,
  authPolicy: Buffer.alloc(0),
  parameters: {
    symmetric: { algorithm: TPM_ALG.NULL, keyBits: 0, mode: TPM_ALG.NULL },
    scheme: { scheme: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256 },
    curveId: TPM_ECC.NIST_P256,
    kdf: { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL },
  },
  unique: { x: Buffer.alloc(32, 0x11), y: Buffer.alloc(32, 0x22) },
};

t.test('ECC public marshals field by field (Part 2 §12.2.4)', async (t) => {
  const bytes = marshalPublic(eccAk);
  const expected =
    '0023' + '000b' + '00050472' + '0000' + '0010' + '0018000b' + '0003' + '0010' +
    '0020' + '11'.repeat(32) + '0020' + '22'.repeat(32);
  t.equal(bytes.toString('hex'), expected);
  t.same(unmarshalPublic(bytes), eccAk);
  t.ok(marshalPublic2b(eccAk).equals(Buffer.concat([Buffer.from([0, bytes.length]), bytes])));
  t.same(unmarshalPublic2b(marshalPublic2b(eccAk)), eccAk);
});

t.test('schemes with extra or no details round-trip', async (t) => {
  const ecdaa: EccPublic = { ...eccAk, parameters: { ...eccAk.parameters, scheme: { scheme: TPM_ALG.ECDAA, hashAlg: TPM_ALG.SHA256, count: 7 } } };
  const b = marshalPublic(ecdaa);
  t.equal(b.subarray(12, 18).toString('hex'), '001a000b0007');
  t.same(unmarshalPublic(b), ecdaa);
  const rsa = unmarshalPublic(akpub);
  if (rsa.type !== TPM_ALG.RSA) throw new Error('not RSA');
  const rsaes = { ...rsa, parameters: { ...rsa.parameters, scheme: { scheme: TPM_ALG.RSAES, hashAlg: TPM_ALG.NULL } } };
  const e = marshalPublic(rsaes);
  t.equal(e.length, akpub.length - 2, 'RSAES carries no hash');
  t.same(unmarshalPublic(e), rsaes);
  const aes = { ...rsa, parameters: { ...rsa.parameters, symmetric: { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB } } };
  t.same(unmarshalPublic(marshalPublic(aes)), aes);
});

t.test('embedded use: readPublic stops at the end of the structure', async (t) => {
  const w = new BufferWriter();
  writePublic(w, eccAk);
  w.u32(0xdeadbeef);
  const r = new BufferReader(w.finish());
  t.same(readPublic(r), eccAk);
  t.equal(r.u32(), 0xdeadbeef);
});

t.test('KEYEDHASH, SYMCIPHER and unknown algorithms are rejected with a typed error', async (t) => {
  // A KEYEDHASH sealed-data object: type 0x0008, nameAlg SHA-256, attributes, empty policy, NULL scheme, unique digest.
  const keyedHash = Buffer.from('0008000b000000120000' + '0010' + '0020' + '00'.repeat(32), 'hex');
  t.throws(() => unmarshalPublic(keyedHash), { name: 'UnsupportedAlgorithmError', alg: TPM_ALG.KEYEDHASH });
  const symCipher = Buffer.from('0025000b000300720000' + '000600800043' + '0020' + '00'.repeat(32), 'hex');
  t.throws(() => unmarshalPublic(symCipher), UnsupportedAlgorithmError);
  const badScheme = Buffer.from(akpub);
  badScheme.writeUInt16BE(0x0099, 12);
  t.throws(() => unmarshalPublic(badScheme), { name: 'UnsupportedAlgorithmError', field: 'TPMT_RSA_SCHEME.scheme', alg: 0x99 });
  const badSym = Buffer.from(akpub);
  badSym.writeUInt16BE(0x0042, 10);
  t.throws(() => unmarshalPublic(badSym), UnsupportedAlgorithmError);
  const badNameAlg = Buffer.from(akpub);
  badNameAlg.writeUInt16BE(0x0099, 2);
  t.throws(() => objectName(badNameAlg), UnsupportedAlgorithmError);
});

t.test('sizes and trailing bytes', async (t) => {
  t.throws(() => unmarshalPublic(Buffer.concat([akpub, Buffer.from([0])])), MarshalError);
  const hugeN = Buffer.from(akpub);
  hugeN.writeUInt16BE(0x0201, 22); // 513-byte modulus exceeds MAX_RSA_KEY_BYTES
  t.throws(() => unmarshalPublic(hugeN), MarshalError);
  const longPolicy = Buffer.from(akpub);
  longPolicy.writeUInt16BE(65, 8);
  t.throws(() => unmarshalPublic(longPolicy), MarshalError);
  t.throws(() => unmarshalPublic2b(akpub), MarshalError, 'a TPMT_PUBLIC is not a TPM2B_PUBLIC');
});

t.test('name hashes with the nameAlg', async (t) => {
  const p = { ...eccAk, nameAlg: TPM_ALG.SHA384 };
  const name = objectName(p);
  t.equal(name.length, 2 + 48);
  t.equal(name.subarray(2).toString('hex'), createHash('sha384').update(marshalPublic(p)).digest('hex'));
  t.equal(name.readUInt16BE(0), TPM_ALG.SHA384);
});
