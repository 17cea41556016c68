import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { createEk, EkCertificateError, EkMismatchError, findEkCertificate, readEkCertificates } from '../../client/ek.js';
import { leadingSequenceLength as derLength } from '../../shared/crypto/padded-certificate.js';
import { policyA, policyB } from '../../client/ek-policy.js';
import { getHandles, getManufacturer, TPM_HR } from '../../client/tpm/commands/capability.js';
import { nvReadAll } from '../../client/tpm/commands/nv.js';
import { flushContext, readPublic } from '../../client/tpm/commands/objects.js';
import { Tpm } from '../../client/tpm/tpm.js';
import { keyMatchesPublic } from '../../shared/crypto/keys.js';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import { EK_TEMPLATES, POLICY_A_SHA256, POLICY_B } from '../../shared/tpm/ek-templates.js';
import { startSwtpm } from '../helpers/swtpm.js';

const swtpm = await startSwtpm({ t });
const tpm = await Tpm.open(swtpm.tcti);
t.teardown(() => tpm.close());

t.test('manufacturer is TPM_PT_MANUFACTURER as 4 ASCII characters', async (t) => {
  t.equal(await getManufacturer(tpm), 'IBM ');
});

t.test('both EK certificates are read from NV and chain to the test CA', async (t) => {
  const { found, problems } = await readEkCertificates(tpm);
  t.same(problems, []);
  t.same(found.map((c) => [c.nvIndex, c.template.id]), [[0x01c00002, 'L-1'], [0x01c00016, 'H-3']]);
  const root = new X509Certificate(swtpm.caCertPem);
  const intermediate = new X509Certificate(swtpm.intermediateCertPem);
  for (const c of found) {
    t.ok(c.cert.verify(intermediate.publicKey), `${c.template.id} certificate signed by the intermediate`);
    t.ok(c.cert.checkIssued(intermediate) && intermediate.checkIssued(root), `${c.template.id} chains to the root`);
  }
  t.equal(found[0].cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  t.equal(found[1].cert.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
});

t.test('chunked NV reads give the same bytes for any chunk size', async (t) => {
  const whole = await nvReadAll(tpm, 0x01c00002);
  t.equal(whole.data.length, whole.pub.dataSize);
  for (const chunk of [100, 512, whole.pub.dataSize]) {
    t.ok((await nvReadAll(tpm, 0x01c00002, chunk)).data.equals(whole.data), `chunk ${chunk}`);
  }
  t.equal(derLength(whole.data), whole.data.length, 'swtpm writes the DER alone');
  const padded = Buffer.concat([whole.data, Buffer.alloc(40, 0xff)]);
  t.equal(derLength(padded), whole.data.length, 'padding after the DER is not part of it');
  t.equal(derLength(whole.data.subarray(0, 100)), undefined, 'a truncated certificate is not one');
});

t.test('the EK recreated from the matching template has the certificate key', async (t) => {
  for (const [alg, id] of [['rsa', 'L-1'], ['ecc', 'H-3']] as const) {
    const cert = await findEkCertificate(tpm, alg);
    t.equal(cert.template.id, id);
    const ek = await createEk(tpm, cert);
    try {
      t.ok(keyMatchesPublic(cert.cert.publicKey, ek.pub), `${id}: same public key as the certificate`);
      // swtpm_setup also made the EK persistent: the same key, by a different route.
      const persistent = await readPublic(tpm, alg === 'rsa' ? 0x81010001 : 0x81010016);
      t.ok(persistent.publicBytes.equals(ek.publicBytes), `${id}: same TPMT_PUBLIC as swtpm_setup's EK`);
    } finally {
      await flushContext(tpm, ek.handle);
    }
  }
  t.equal((await findEkCertificate(tpm)).template.id, 'L-1', 'RSA 2048 preferred without --alg');
});

t.test('a template that does not match the certificate is refused, and nothing stays loaded', async (t) => {
  const cert = await findEkCertificate(tpm, 'rsa');
  const h1 = EK_TEMPLATES.find((x) => x.id === 'H-1')!;
  const err = await createEk(tpm, { ...cert, template: h1 }).catch((e: unknown) => e);
  t.ok(err instanceof EkMismatchError, 'typed');
  t.match(err, { nvIndex: 0x01c00002, templateId: 'H-1' });
  t.same(await getHandles(tpm, TPM_HR.TRANSIENT), [], 'no transient object left');
});

t.test('EK policies computed from Part 3 equal the profile values and the TPM EKs', async (t) => {
  t.ok(policyA(TPM_ALG.SHA256).equals(POLICY_A_SHA256));
  t.ok(policyB(TPM_ALG.SHA256).equals(POLICY_B.sha256));
  t.ok(policyB(TPM_ALG.SHA384).equals(POLICY_B.sha384));
  t.ok(policyB(TPM_ALG.SHA512).equals(POLICY_B.sha512));
  t.ok((await readPublic(tpm, 0x81010016)).pub.authPolicy.equals(policyB(TPM_ALG.SHA384)), 'swtpm P-384 EK uses PolicyB');
});

t.test('a TPM without EK certificates gives a typed error', async (t) => {
  const bare = await startSwtpm({ t, ekCertificates: false });
  const tpm2 = await Tpm.open(bare.tcti);
  t.teardown(() => tpm2.close());
  await t.rejects(findEkCertificate(tpm2), { name: 'EkCertificateError', message: /no EK certificate in the TPM \(found: none\)/ });
  await t.rejects(findEkCertificate(tpm2, 'ecc'), new EkCertificateError('no ECC EK certificate in the TPM (found: none)'));
});
