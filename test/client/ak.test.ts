import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { activateCredential, AK_ATTRIBUTES, createAk, ensureSrk, loadAk, SRK_HANDLE, type KeyAlg } from '../../client/ak.js';
import { createEk, findEkCertificate, type EkAlg } from '../../client/ek.js';
import { getHandles, TPM_HR } from '../../client/tpm/commands/capability.js';
import { flushContext, withFlushed, type KeyBlobs } from '../../client/tpm/commands/objects.js';
import { Tpm } from '../../client/tpm/tpm.js';
import { makeCredential } from '../../shared/crypto/make-credential.js';
import { MarshalError } from '../../shared/tpm/buffer.js';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import { objectName } from '../../shared/tpm/name.js';
import { parseToolsCredential } from '../crypto/tpm2-tools-credential.js';
import { scratchDir } from '../helpers/scratch-dir.js';
import { startSwtpm } from '../helpers/swtpm.js';

const run = promisify(execFile);
const swtpm = await startSwtpm({ t });
let tpm = await Tpm.open(swtpm.tcti);
t.teardown(() => tpm.close());
const tmp = await scratchDir(t, 'acs-ak-');

async function nothingLoaded(t: Test): Promise<void> {
  t.same(await getHandles(tpm, TPM_HR.TRANSIENT), [], 'no transient objects left');
  t.same(await getHandles(tpm, TPM_HR.HMAC_SESSION), [], 'no sessions left');
  t.same(await getHandles(tpm, TPM_HR.POLICY_SESSION), [], 'no policy sessions left');
}

/** Runs fn with the EK of `ekAlg` and the AK from `blobs` loaded, flushing both. */
function withKeys<T>(ekAlg: EkAlg, blobs: KeyBlobs, fn: (ek: Awaited<ReturnType<typeof createEk>>, ak: Awaited<ReturnType<typeof loadAk>>) => Promise<T>): Promise<T> {
  return findEkCertificate(tpm, ekAlg).then((cert) =>
    withFlushed(tpm, createEk(tpm, cert), (ek) => withFlushed(tpm, loadAk(tpm, blobs), (ak) => fn(ek, ak))),
  );
}

const blobs = new Map<KeyAlg, KeyBlobs>();

t.test('the SRK is made persistent once and reused', async (t) => {
  const first = await ensureSrk(tpm);
  t.equal(first.created, true);
  t.equal(first.srk.handle, SRK_HANDLE);
  t.equal(first.srk.pub.type, TPM_ALG.ECC, 'ECC P-256 by default');
  const second = await ensureSrk(tpm, 'rsa');
  t.equal(second.created, false, 'second run finds it');
  t.ok(second.srk.name.equals(first.srk.name), 'same key');
  t.same(await getHandles(tpm, TPM_HR.PERSISTENT), [0x81000001, 0x81010001, 0x81010016]);
  await nothingLoaded(t);
});

t.test('AKs: restricted signing keys with the attributes the server requires', async (t) => {
  for (const alg of ['rsa', 'ecc'] as const) {
    const b = await createAk(tpm, alg);
    blobs.set(alg, b);
    await withFlushed(tpm, loadAk(tpm, b), async (ak) => {
      t.equal(ak.pub.objectAttributes, AK_ATTRIBUTES, `${alg}: attributes 0x${AK_ATTRIBUTES.toString(16)}`);
      t.equal(ak.pub.nameAlg, TPM_ALG.SHA256);
      t.same(ak.pub.parameters.scheme, { scheme: alg === 'rsa' ? TPM_ALG.RSASSA : TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256 });
      t.ok(ak.name.equals(objectName(b.publicBytes)), `${alg}: the TPM's Name is the one computed from the public area`);
    });
  }
  await nothingLoaded(t);
});

t.test('AK blobs load again after a reboot, under the same persistent SRK', async (t) => {
  const before = await withFlushed(tpm, loadAk(tpm, blobs.get('rsa')!), async (ak) => ak.name);
  await tpm.close();
  await swtpm.restart();
  tpm = await Tpm.open(swtpm.tcti);
  t.equal((await ensureSrk(tpm)).created, false);
  const after = await withFlushed(tpm, loadAk(tpm, blobs.get('rsa')!), async (ak) => ak.name);
  t.ok(after.equals(before));
});

t.test('ActivateCredential recovers what our makeCredential protected', async (t) => {
  for (const ekAlg of ['rsa', 'ecc'] as const) {
    for (const akAlg of ['rsa', 'ecc'] as const) {
      const cert = await findEkCertificate(tpm, ekAlg);
      const secret = randomBytes(32);
      // As the server does it: from the certificate's key and the template's class, not the TPM's EK.
      const made = makeCredential({ key: cert.cert.publicKey, ...cert.template.ekClass }, objectName(blobs.get(akAlg)!.publicBytes), secret);
      const out = await withKeys(ekAlg, blobs.get(akAlg)!, (ek, ak) => activateCredential(tpm, ek, ak, made.credentialBlob, made.secret));
      t.ok(out.equals(secret), `${cert.template.id} EK, ${akAlg} AK`);
    }
  }
  await nothingLoaded(t);
});

t.test('a blob from tpm2_makecredential --tcti none activates to the same secret', async (t) => {
  for (const ekAlg of ['rsa', 'ecc'] as const) {
    const secret = randomBytes(32);
    await withKeys(ekAlg, blobs.get('ecc')!, async (ek, ak) => {
      const ekFile = path.join(tmp, `ek-${ekAlg}.pub`);
      const secretFile = path.join(tmp, 'secret.bin');
      const outFile = path.join(tmp, `cred-${ekAlg}.out`);
      writeFileSync(ekFile, Buffer.concat([Buffer.from([ek.publicBytes.length >> 8, ek.publicBytes.length & 0xff]), ek.publicBytes]));
      writeFileSync(secretFile, secret);
      await run('tpm2_makecredential', ['--tcti', 'none', '-u', ekFile, '-s', secretFile, '-n', ak.name.toString('hex'), '-o', outFile]);
      const { credentialBlob, secret: encSecret } = parseToolsCredential(readFileSync(outFile));
      const out = await activateCredential(tpm, ek, ak, credentialBlob, encSecret);
      t.ok(out.equals(secret), `${ek.certificate.template.id} EK`);
    });
  }
});

t.test('a credential made for another key is refused by the TPM, and nothing leaks', async (t) => {
  const cert = await findEkCertificate(tpm, 'rsa');
  const made = makeCredential({ key: cert.cert.publicKey, ...cert.template.ekClass }, objectName(blobs.get('ecc')!.publicBytes), randomBytes(32));
  const err = await withKeys('rsa', blobs.get('rsa')!, (ek, ak) => activateCredential(tpm, ek, ak, made.credentialBlob, made.secret)).catch(
    (e: unknown) => e,
  );
  t.match(err, { name: 'TpmError', command: 'TPM2_ActivateCredential', code: 'TPM_RC_INTEGRITY' });
  const truncated = await withKeys('rsa', blobs.get('rsa')!, (ek, ak) =>
    activateCredential(tpm, ek, ak, made.credentialBlob.subarray(0, 10), made.secret),
  ).catch((e: unknown) => e);
  t.ok(truncated instanceof MarshalError, 'a malformed blob is refused before it reaches the TPM');
  await nothingLoaded(t);
});

t.test('loading blobs that were tampered with fails with a TPM error, handles flushed', async (t) => {
  const b = blobs.get('rsa')!;
  const bad = { ...b, privateBytes: Buffer.from(b.privateBytes) };
  bad.privateBytes[bad.privateBytes.length - 1] ^= 1;
  await t.rejects(loadAk(tpm, bad), { name: 'TpmError', command: 'TPM2_Load', code: 'TPM_RC_INTEGRITY' });
  await nothingLoaded(t);
  // flushContext of a handle that is not loaded is itself a typed error
  await t.rejects(flushContext(tpm, 0x80000000), { name: 'TpmError', command: 'TPM2_FlushContext' });
});
