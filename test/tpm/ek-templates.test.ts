/**
 * The EK templates against a real swtpm provisioned by swtpm_setup
 * --create-ek-cert, read with tpm2-tools (an independent TSS): the template
 * chosen for each EK certificate's key, filled with that key, is byte for
 * byte the EK public area the TPM holds, and a credential made for it
 * activates in the TPM.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import {
  EK_TEMPLATES,
  ekTemplateByCertIndex,
  ekTemplateForKey,
  POLICY_A_SHA256,
  POLICY_B,
  UnknownEkKeyError,
} from '../../shared/tpm/ek-templates.js';
import { objectName } from '../../shared/tpm/name.js';
import { marshalPublic, marshalPublic2b, unmarshalPublic2b } from '../../shared/tpm/public.js';
import { publicWithKey } from '../../shared/crypto/keys.js';
import { makeCredential } from '../../shared/crypto/make-credential.js';
import { startSwtpm } from '../helpers/swtpm.js';
import { toolsCredential } from '../crypto/tpm2-tools-credential.js';

const run = promisify(execFile);

t.test('authPolicy values are PolicySecret(TPM_RH_ENDORSEMENT) and its PolicyOR with PolicyC', async (t) => {
  // PolicyC (EK Credential Profile Annex B.6.4): TPM2_PolicyAuthorizeNV of the policy NV indices.
  const policyC = {
    sha256: '3767e2edd43ff45a3a7e1eaefcef78643dca964632e7aad82c673a30d8633fde',
    sha384: 'd6032ce61f2fb3c240eb3cf6a33237ef2b6a16f4293c22b455e261cffd217ad5b4947c2d73e63005eed2dc2b3593d165',
    sha512: '589ee1e146544716e8deafe6db247b01b81e9f9c7dd16b814aa159138749105fba5388dd1dea702f35240c184933121e2c61b8f50d3ef91393a49a38c3f73fc8',
  };
  for (const [h, size] of [['sha256', 32], ['sha384', 48], ['sha512', 64]] as const) {
    const H = (...parts: Buffer[]) => createHash(h).update(Buffer.concat(parts)).digest();
    // Part 3 §23.4 PolicySecret: H(H(0 || TPM_CC_PolicySecret || Name(TPM_RH_ENDORSEMENT)) || policyRef=empty)
    const policyA = H(H(Buffer.alloc(size), Buffer.from('000001514000000b', 'hex')));
    if (h === 'sha256') t.equal(policyA.toString('hex'), POLICY_A_SHA256.toString('hex'));
    // Part 3 §23.6 PolicyOR: H(0 || TPM_CC_PolicyOR || digests)
    const policyB = H(Buffer.alloc(size), Buffer.from('00000171', 'hex'), policyA, Buffer.from(policyC[h], 'hex'));
    t.equal(POLICY_B[h].toString('hex'), policyB.toString('hex'), `PolicyB ${h}`);
  }
});

t.test('template table', async (t) => {
  t.same(EK_TEMPLATES.map((x) => [x.id, x.certIndex.toString(16)]), [
    ['L-1', '1c00002'], ['L-2', '1c0000a'], ['H-1', '1c00012'], ['H-2', '1c00014'],
    ['H-3', '1c00016'], ['H-4', '1c00018'], ['H-6', '1c0001c'], ['H-7', '1c0001e'],
  ]);
  for (const x of EK_TEMPLATES) {
    const low = x.id.startsWith('L');
    t.equal(x.template.objectAttributes, low ? 0x000300b2 : 0x000300f2, `${x.id} attributes`);
    t.equal(x.template.parameters.symmetric.keyBits, x.ekClass.symKeyBits);
    t.equal(x.template.nameAlg, x.ekClass.nameAlg);
  }
  // The low-range RSA template as published (EK Credential Profile Annex B.3.3), unique = 256 zero bytes.
  t.equal(
    marshalPublic(EK_TEMPLATES[0].template).toString('hex'),
    '0001000b000300b20020' + POLICY_A_SHA256.toString('hex') + '00060080004300100800000000000100' + '00'.repeat(256),
  );
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  t.equal(ekTemplateForKey(p256).id, 'L-2');
  t.equal(ekTemplateForKey(p256, 0x01c00014).id, 'H-2');
  t.equal(ekTemplateForKey(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey).id, 'H-4');
  t.throws(() => ekTemplateForKey(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey), UnknownEkKeyError);
  t.throws(() => ekTemplateForKey(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey), UnknownEkKeyError);
  t.throws(() => ekTemplateForKey(generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey), UnknownEkKeyError);
});

t.test('swtpm EKs are the templates filled with their certificates\' keys', async (t) => {
  const tpm = await startSwtpm({ t });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'acs-ek-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = { ...process.env, TPM2TOOLS_TCTI: `swtpm:host=${tpm.host},port=${tpm.port}` };
  const tool = (...args: string[]) => run(args[0], args.slice(1), { env, cwd: dir });

  const cases = [
    { handle: '0x81010001', index: 0x01c00002, id: 'L-1', akAlg: 'rsa', scheme: 'rsassa', ekClass: { nameAlg: TPM_ALG.SHA256, symKeyBits: 128 } },
    { handle: '0x81010016', index: 0x01c00016, id: 'H-3', akAlg: 'ecc', scheme: 'ecdsa', ekClass: { nameAlg: TPM_ALG.SHA384, symKeyBits: 256 } },
  ];
  for (const c of cases) {
    const pubFile = `ek-${c.id}.pub`;
    const { stdout } = await tool('tpm2_readpublic', '-c', c.handle, '-f', 'tss', '-o', pubFile);
    const tpmBytes = readFileSync(path.join(dir, pubFile));
    const certFile = `ek-${c.id}.der`;
    await tool('tpm2_nvread', '-C', 'o', '-o', certFile, `0x${c.index.toString(16)}`);
    const cert = new X509Certificate(readFileSync(path.join(dir, certFile)));

    const template = ekTemplateForKey(cert.publicKey, c.index);
    t.equal(template.id, c.id);
    t.same(template.ekClass, c.ekClass);
    t.equal(ekTemplateByCertIndex(c.index), template);
    t.equal(ekTemplateForKey(cert.publicKey).id, c.id, 'also without the NV index');
    const expected = publicWithKey(template.template, cert.publicKey);
    t.equal(marshalPublic2b(expected).toString('hex'), tpmBytes.toString('hex'), `${c.id}: identical TPM2B_PUBLIC`);
    t.same(unmarshalPublic2b(tpmBytes), expected);
    const name = /^name: ([0-9a-f]+)$/m.exec(stdout)?.[1];
    t.equal(objectName(expected).toString('hex'), name, `${c.id}: name as tpm2_readpublic prints it`);

    // A credential made from the certificate's key and the template's class activates in the TPM.
    await tool('tpm2_createak', '-C', c.handle, '-c', `ak-${c.id}.ctx`, '-G', c.akAlg, '-g', 'sha256', '-s', c.scheme, '-u', `ak-${c.id}.pub`, '-n', `ak-${c.id}.name`);
    const akName = readFileSync(path.join(dir, `ak-${c.id}.name`));
    const credential = randomBytes(32);
    const made = makeCredential({ key: cert.publicKey, ...template.ekClass }, akName, credential);
    writeFileSync(path.join(dir, `cred-${c.id}`), toolsCredential(made));
    await tool('tpm2_flushcontext', '-t');
    const out = `out-${c.id}`;
    if (template.template.objectAttributes & 0x40) {
      // High range: userWithAuth, the empty EK password authorizes.
      await tool('tpm2_activatecredential', '-c', `ak-${c.id}.ctx`, '-C', c.handle, '-i', `cred-${c.id}`, '-o', out);
    } else {
      // Low range: only PolicySecret(TPM_RH_ENDORSEMENT) authorizes the EK.
      await tool('tpm2_startauthsession', '--policy-session', '-S', 'session.ctx');
      await tool('tpm2_policysecret', '-S', 'session.ctx', '-c', 'e');
      await tool('tpm2_activatecredential', '-c', `ak-${c.id}.ctx`, '-C', c.handle, '-i', `cred-${c.id}`, '-o', out, '-P', 'session:session.ctx');
      await tool('tpm2_flushcontext', 'session.ctx');
    }
    t.equal(readFileSync(path.join(dir, out)).toString('hex'), credential.toString('hex'), `${c.id}: TPM2_ActivateCredential returns the credential`);
    await tool('tpm2_flushcontext', '-t');
  }
});
