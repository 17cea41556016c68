import { X509Certificate, constants, generateKeyPairSync, hash, privateEncrypt, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { p256, p384 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import t from 'tap';
import { verifyEcdsaDigest } from '../../shared/crypto/ecdsa-digest.js';
import type { ImaEvent } from '../../shared/eventlog/ima/event.js';
import { ImaKeyError, ImaKeyring, imaKeyId, parseImaSignature, type ImaSignatureStatus } from '../../shared/eventlog/ima/signature.js';
import { decodeImaTemplate, type ImaTemplateInfo } from '../../shared/eventlog/ima/template.js';
import { EXPECTED, fixture, fixturePath, imaFile, loadIma } from './fixtures.js';

const keyPath = (name: string) => fixturePath(`keys/${name}`);

function statuses(keys: ImaKeyring, events: ImaEvent[]): ImaSignatureStatus[] {
  return events.map((e) => keys.verifyEvent(decodeImaTemplate(e)));
}

function tally(list: ImaSignatureStatus[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) out[s] = (out[s] ?? 0) + 1;
  return out;
}

t.test('key ids of the fixture keys', async (t) => {
  for (const k of EXPECTED.keys) {
    const ring = await ImaKeyring.fromFiles([fixturePath(k.file)]);
    t.same(ring.keyIds, [k.ima_keyid_v2], k.file);
    if (k.subject_key_identifier) {
      // subjectKeyIdentifier extension: OID 2.5.29.14, OCTET STRING { OCTET STRING (20) }.
      const raw = new X509Certificate(fixture(k.file)).raw;
      const at = raw.indexOf(Buffer.from('0603551d0e04160414', 'hex')) + 9;
      t.equal(raw.subarray(at, at + 20).toString('hex'), k.subject_key_identifier);
      t.ok(k.subject_key_identifier.endsWith(ring.keyIds[0]), 'the key id is the tail of the SKI');
    }
  }
});

t.test('acs_imasig with imakey.der', async (t) => {
  const f = imaFile('acs_imasig.bin');
  const keys = await ImaKeyring.fromFiles([keyPath('imakey.der')]);
  const list = statuses(keys, loadIma(f));
  const sig = f.signatures!;
  t.equal(list.filter((s) => s === 'ok').length, sig.rsa_valid, '896 verify');
  t.same(tally(list), { ok: 896, nosig: f.unsigned_entries, nokey: 2, badsig: 1 });
  t.equal(list.length - list.filter((s) => s === 'nosig').length - list.filter((s) => s === 'ok').length, sig.not_valid_with_that_key);
  t.same(list.slice(1079), ['ok', 'nosig', 'nokey', 'badsig'], 'xautt (signature fine, name altered), trojan_nosig, trojan_badkey, trojan_badsig');
  t.equal(list[591], 'nokey', '/usr/sbin/atd is signed by another key');
  t.ok(keys.cachedResults <= 899 && keys.cachedResults > 800, 'one cached result per (digest, signature)');

  const none = await ImaKeyring.fromFiles([]);
  t.same(tally(statuses(none, loadIma(f))), { nosig: 184, nokey: 899 }, 'without keys every signature is nokey');
});

t.test('keylime signatures: RSA-2048 and ECDSA secp256k1', async (t) => {
  const keys = await ImaKeyring.fromFiles([keyPath('keylime_rsa2048pub.pem'), keyPath('keylime_secp256k1_pub.pem')]);
  t.same(statuses(keys, loadIma(imaFile('keylime_ima_verification.ascii'))), ['nosig', 'nosig', 'nosig', 'ok', 'ok', 'nosig']);
  const rsaOnly = await ImaKeyring.fromFiles([keyPath('keylime_rsa2048pub.pem')]);
  t.same(statuses(rsaOnly, loadIma(imaFile('keylime_ima_verification.ascii'))).slice(3, 5), ['ok', 'nokey']);
  const bad = loadIma(imaFile('keylime_ima_bad_signature.ascii'));
  t.same(statuses(keys, bad), ['badsig'], 'malformed signature rejected');
  t.throws(() => parseImaSignature(decodeImaTemplate(bad[0]).signature!), /size field 18432/);
});

t.test('key files: DER/PEM certificates and public keys, errors typed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'imakeys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pemCert = new X509Certificate(fixture('keys/imakey.der')).toString();
  const both = join(dir, 'both.pem');
  await writeFile(both, pemCert + fixture('keys/keylime_rsa2048pub.pem').toString());
  t.same((await ImaKeyring.fromFiles([both])).keyIds.sort(), ['0beb6a13', 'f3452d23'], 'two PEM blocks in one file');
  const der = join(dir, 'spki.der');
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await writeFile(der, publicKey.export({ type: 'spki', format: 'der' }));
  t.same((await ImaKeyring.fromFiles([der])).keyIds, [imaKeyId(publicKey)], 'DER SubjectPublicKeyInfo');
  const junk = join(dir, 'junk');
  await writeFile(junk, 'not a key');
  await t.rejects(ImaKeyring.fromFiles([junk]), ImaKeyError);
  await t.rejects(ImaKeyring.fromFiles([join(dir, 'missing')]), ImaKeyError);
});

/** A signature_v2_hdr around `sig`. */
function v2(version: number, hashAlgo: number, key: KeyObject, sig: Buffer, type = 3): Buffer {
  const hdr = Buffer.alloc(9);
  hdr[0] = type;
  hdr[1] = version;
  hdr[2] = hashAlgo;
  Buffer.from(imaKeyId(key), 'hex').copy(hdr, 3);
  hdr.writeUInt16BE(sig.length, 7);
  return Buffer.concat([hdr, sig]);
}

const DIGEST_INFO: Record<string, string> = {
  sha1: '3021300906052b0e03021a05000414',
  sha256: '3031300d060960864801650304020105000420',
  sha512: '3051300d060960864801650304020305000440',
};
const KERNEL_ALGO: Record<string, number> = { sha1: 2, sha256: 4, sha384: 5, sha512: 6 };

t.test('signatures made here: RSA PKCS#1 v1.5, ECDSA P-256/P-384, version 3', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const keys = new ImaKeyring([rsa.publicKey, p256.publicKey, p384.publicKey]);
  const info = (alg: string, digest: Buffer, signature: Buffer): ImaTemplateInfo =>
    ({ fields: [], fileDigest: { alg, digest }, signature });
  for (const alg of ['sha1', 'sha256', 'sha512']) {
    const digest = hash(alg, `file ${alg}`, 'buffer');
    const sig = privateEncrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([Buffer.from(DIGEST_INFO[alg], 'hex'), digest]));
    t.equal(keys.verifyEvent(info(alg, digest, v2(2, KERNEL_ALGO[alg], rsa.publicKey, sig))), 'ok', `RSA ${alg}`);
    const other = hash(alg, 'another file', 'buffer');
    t.equal(keys.verifyEvent(info(alg, other, v2(2, KERNEL_ALGO[alg], rsa.publicKey, sig))), 'badsig', `RSA ${alg}, other file`);
  }
  for (const [pair, alg] of [[p256, 'sha256'], [p384, 'sha384']] as const) {
    const data = Buffer.from(`contents for ${alg}`);
    const digest = hash(alg, data, 'buffer');
    const sig = sign(alg, data, pair.privateKey);
    t.equal(keys.verifyEvent(info(alg, digest, v2(2, KERNEL_ALGO[alg], pair.publicKey, sig))), 'ok', `ECDSA ${alg}`);
    t.equal(keys.verifyEvent(info('sha1', digest.subarray(0, 20), v2(2, KERNEL_ALGO[alg], pair.publicKey, sig))), 'badsig', 'digest algorithm differs from the signature\'s');
  }
  // Version 3 signs H(type | file hash_algo | file digest).
  const fileDigest = hash('sha256', 'verity file', 'buffer');
  const fileId = Buffer.concat([Buffer.from([6, KERNEL_ALGO.sha256]), fileDigest]);
  const v3sig = sign('sha256', fileId, p256.privateKey);
  t.equal(keys.verifyEvent(info('sha256', fileDigest, v2(3, KERNEL_ALGO.sha256, p256.publicKey, v3sig, 6))), 'ok', 'fs-verity v3');
  t.equal(keys.verifyEvent(info('sha256', fileDigest, v2(2, KERNEL_ALGO.sha256, p256.publicKey, v3sig, 6))), 'badsig', 'type 6 needs version 3');
  t.equal(keys.verifyEvent(info('sha256', fileDigest, Buffer.from('0302', 'hex'))), 'badsig', 'short header');
  t.equal(keys.verifyEvent({ fields: [] }), 'nosig');
});

const NOBLE = { prime256v1: p256, secp384r1: p384, secp256k1 };

t.test('ECDSA over a digest agrees with node:crypto on P-256, P-384 and secp256k1', async (t) => {
  for (const [curve, alg] of [['prime256v1', 'sha256'], ['secp384r1', 'sha384'], ['secp256k1', 'sha256'], ['prime256v1', 'sha512']] as const) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
    for (let i = 0; i < 3; i++) {
      const data = Buffer.from(`message ${i}`);
      const sig = sign(alg, data, privateKey);
      const digest = hash(alg, data, 'buffer');
      t.ok(verifyEcdsaDigest(publicKey, digest, sig), `${curve} ${alg} valid`);
      digest[i] ^= 0x40;
      t.notOk(verifyEcdsaDigest(publicKey, digest, sig), `${curve} ${alg} altered digest`);
    }
    const digest = hash(alg, 'x', 'buffer');
    // (r, n - s) is as valid as (r, s); the kernel accepts either, so must this.
    const ec = NOBLE[curve];
    const made = ec.Signature.fromBytes(sign(alg, Buffer.from('x'), privateKey), 'der');
    const flipped = new ec.Signature(made.r, ec.Point.Fn.ORDER - made.s);
    const high = made.hasHighS() ? made : flipped;
    const low = made.hasHighS() ? flipped : made;
    t.ok(verifyEcdsaDigest(publicKey, digest, low.toBytes('der')), `${curve} low-S`);
    t.ok(verifyEcdsaDigest(publicKey, digest, high.toBytes('der')), `${curve} high-S`);
    t.notOk(verifyEcdsaDigest(publicKey, digest, Buffer.from('3006020100020100', 'hex')), 'r = s = 0');
    t.notOk(verifyEcdsaDigest(publicKey, digest, Buffer.from('30ff', 'hex')), 'bad DER');
  }
});
