import t from 'tap';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import { EK_TEMPLATES, ekTemplateForKey, type EkTemplate, type EkTemplateId } from '../../shared/tpm/ek-templates.js';
import { marshalPublic2b, type TpmPublic } from '../../shared/tpm/public.js';
import { unmarshalEncryptedSecret, unmarshalIdObject } from '../../shared/tpm/tpm2b.js';
import { publicWithKey } from '../../shared/crypto/keys.js';
import { activateCredential, CredentialError, makeCredential } from '../../shared/crypto/make-credential.js';
import { readWireJson } from '../helpers/acs-wire.js';
import { parseToolsCredential } from './tpm2-tools-credential.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'acs-mkcred-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const CURVES: Record<number, string> = { 3: 'P-256', 4: 'P-384', 5: 'P-521' };

interface Ek {
  template: EkTemplate;
  pub: TpmPublic;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function makeEk(id: EkTemplateId): Ek {
  const template = EK_TEMPLATES.find((x) => x.id === id);
  if (!template) throw new Error(id);
  const tp = template.template;
  const { publicKey, privateKey } =
    tp.type === TPM_ALG.RSA
      ? generateKeyPairSync('rsa', { modulusLength: tp.parameters.keyBits })
      : generateKeyPairSync('ec', { namedCurve: CURVES[tp.parameters.curveId] });
  return { template, pub: publicWithKey(tp, publicKey), privateKey, publicKey };
}

const eks = (['L-1', 'L-2', 'H-3', 'H-4', 'H-6'] as const).map(makeEk);
const akName = Buffer.from('000b' + randomBytes(32).toString('hex'), 'hex');

/** Runs tpm2_makecredential without a TPM; `-G` makes it read a PEM key and assume the default low-range template. */
function toolMakeCredential(ek: Ek, secret: Buffer, name: Buffer, pem: boolean): { credentialBlob: Buffer; secret: Buffer } {
  const pubFile = path.join(dir, 'ek.pub');
  const args = ['-T', 'none', '-s', path.join(dir, 'secret'), '-n', name.toString('hex'), '-o', path.join(dir, 'out')];
  if (pem) {
    writeFileSync(pubFile, ek.publicKey.export({ type: 'spki', format: 'pem' }));
    args.push('-u', pubFile, '-G', ek.pub.type === TPM_ALG.RSA ? 'rsa' : 'ecc');
  } else {
    writeFileSync(pubFile, marshalPublic2b(ek.pub));
    args.push('-u', pubFile);
  }
  writeFileSync(path.join(dir, 'secret'), secret);
  execFileSync('tpm2_makecredential', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return parseToolsCredential(readFileSync(path.join(dir, 'out')));
}

t.test('tpm2_makecredential output activates with our activateCredential', async (t) => {
  for (const ek of eks) {
    const secret = randomBytes(32);
    const made = toolMakeCredential(ek, secret, akName, false);
    t.ok(activateCredential(ek.privateKey, ek.template.ekClass, akName, made.credentialBlob, made.secret).equals(secret), `${ek.template.id} (TPM2B_PUBLIC input)`);
  }
  for (const ek of eks.filter((e) => e.template.id.startsWith('L-'))) {
    const secret = randomBytes(20);
    const made = toolMakeCredential(ek, secret, akName, true);
    t.ok(activateCredential(ek.privateKey, ek.template.ekClass, akName, made.credentialBlob, made.secret).equals(secret), `${ek.template.id} (PEM with the default EK template)`);
  }
});

t.test('makeCredential output activates, from a TpmPublic or a certificate key with its class', async (t) => {
  for (const ek of eks) {
    const credential = randomBytes(32);
    const a = makeCredential(ek.pub, akName, credential);
    t.ok(activateCredential(ek.privateKey, ek.template.ekClass, akName, a.credentialBlob, a.secret).equals(credential), `${ek.template.id} from TpmPublic`);
    const b = makeCredential({ key: ek.publicKey, ...ek.template.ekClass }, akName, credential);
    t.ok(activateCredential(ek.privateKey, ek.template.ekClass, akName, b.credentialBlob, b.secret).equals(credential), `${ek.template.id} from key + class`);
    t.not(a.secret.toString('hex'), b.secret.toString('hex'), 'a fresh seed every time');
    const digest = ek.template.ekClass.nameAlg === TPM_ALG.SHA256 ? 32 : ek.template.ekClass.nameAlg === TPM_ALG.SHA384 ? 48 : 64;
    const id = unmarshalIdObject(a.credentialBlob);
    t.equal(id.integrityHmac.length, digest, 'integrity HMAC is one nameAlg digest');
    t.equal(id.encIdentity.length, 2 + 32, 'encIdentity is the encrypted TPM2B_DIGEST');
  }
});

t.test('same layout as the IBM ACS server sends for its RSA-2048 EK', async (t) => {
  const ibm = readWireJson('enroll-response.json');
  const ibmBlob = Buffer.from(ibm.credentialblob as string, 'hex');
  const ibmSecret = Buffer.from(ibm.secret as string, 'hex');
  // IBM sends the whole NV index: the DER certificate, then 0xff padding.
  const ekNv = Buffer.from(readWireJson('enroll-request.json').ekcert as string, 'hex');
  const ekKey = new X509Certificate(ekNv.subarray(0, 4 + ekNv.readUInt16BE(2))).publicKey;
  const template = ekTemplateForKey(ekKey);
  t.equal(template.id, 'L-1');
  const ours = makeCredential({ key: ekKey, ...template.ekClass }, akName, randomBytes(32));
  t.equal(ours.credentialBlob.length, ibmBlob.length);
  t.equal(ours.credentialBlob.subarray(0, 4).toString('hex'), ibmBlob.subarray(0, 4).toString('hex'), '0044 0020');
  t.equal(ours.secret.length, ibmSecret.length);
  t.equal(unmarshalEncryptedSecret(ours.secret).length, 256);
  t.equal(unmarshalEncryptedSecret(ibmSecret).length, 256);
});

t.test('activation fails with a typed error when anything does not match', async (t) => {
  const [rsa, ecc] = eks;
  const credential = randomBytes(32);
  for (const ek of [rsa, ecc]) {
    const made = makeCredential(ek.pub, akName, credential);
    const otherName = Buffer.from(akName);
    otherName[5] ^= 1;
    t.throws(() => activateCredential(ek.privateKey, ek.template.ekClass, otherName, made.credentialBlob, made.secret), { name: 'CredentialError', reason: 'integrity' }, `${ek.template.id}: other AK name`);
    const tampered = Buffer.from(made.credentialBlob);
    tampered[tampered.length - 1] ^= 1;
    t.throws(() => activateCredential(ek.privateKey, ek.template.ekClass, akName, tampered, made.secret), { name: 'CredentialError', reason: 'integrity' }, `${ek.template.id}: tampered encIdentity`);
    const other = makeEk(ek.template.id);
    t.throws(() => activateCredential(other.privateKey, ek.template.ekClass, akName, made.credentialBlob, made.secret), CredentialError, `${ek.template.id}: other EK`);
    t.throws(() => activateCredential(ek.privateKey, ek.template.ekClass, akName, made.credentialBlob.subarray(0, 10), made.secret), { name: 'CredentialError', reason: 'format' });
    t.throws(() => activateCredential(ek.privateKey, ek.template.ekClass, akName, made.credentialBlob, made.secret.subarray(1)), { name: 'CredentialError', reason: 'format' });
    t.throws(() => activateCredential(ek.privateKey, { nameAlg: TPM_ALG.SHA256, symKeyBits: 256 }, akName, made.credentialBlob, made.secret), CredentialError, 'wrong EK class');
  }
  const garbageSecret = Buffer.concat([Buffer.from([0, 8]), Buffer.from('0002aaaa0002bbbb', 'hex')]);
  t.throws(() => activateCredential(ecc.privateKey, ecc.template.ekClass, akName, makeCredential(ecc.pub, akName, credential).credentialBlob, garbageSecret), { name: 'CredentialError', reason: 'secret' }, 'ephemeral point not on the curve');
  t.throws(() => makeCredential(rsa.pub, akName, randomBytes(33)), RangeError, 'credential longer than the nameAlg digest');
  t.throws(() => makeCredential({ ...rsa.pub, parameters: { ...rsa.pub.parameters, symmetric: { algorithm: TPM_ALG.NULL, keyBits: 0, mode: TPM_ALG.NULL } } } as TpmPublic, akName, credential), { name: 'UnsupportedAlgorithmError' }, 'EK without a symmetric algorithm');
});
