import t from 'tap';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CertificateError, TrustStore, derCertificate, parseCertificates, parseDerCertificate } from '../../server/trust-store.js';
import { buildCertificate } from '../../shared/crypto/x509-builder.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/acs-wire/', import.meta.url));
const vendors = fileURLToPath(new URL('../../../certificates/tpm-vendors/', import.meta.url));

const enroll = JSON.parse(await readFile(`${fixtures}enroll-request.json`, 'utf8')) as { ekcert: string };

t.test('IBM EK certificate chains to the IBM software TPM EK CA', async (t) => {
  const store = await TrustStore.load([`${fixtures}ekroots`]);
  t.equal(store.size, 2);
  const ek = parseDerCertificate(Buffer.from(enroll.ekcert, 'hex'));
  const chain = await store.verify(ek);
  t.equal(chain.length, 2);
  t.match(chain[1].subject, /CN=EK CA/);
});

t.test('vendor roots alone do not trust the software TPM', async (t) => {
  const store = await TrustStore.load([vendors]);
  t.ok(store.size >= 40, `loaded ${store.size} vendor certificates`);
  const ek = parseDerCertificate(Buffer.from(enroll.ekcert, 'hex'));
  await t.rejects(store.verify(ek), CertificateError);
});

t.test('an Infineon intermediate chains to the re-issued root its authority key identifier names by key id', async (t) => {
  const [root] = parseCertificates(await readFile(`${vendors}IFX_RSA_RT.pem`));
  const [intermediate] = parseCertificates(await readFile(`${vendors}IFX2.pem`));
  const store = new TrustStore();
  store.add(root!);
  // sha1WithRSAEncryption, and the AKI's authorityCertSerialNumber (03) is not the root's serial.
  const chain = await store.verify(intermediate!, [], new Date('2020-01-01T00:00:00Z'));
  t.same(chain.map((c) => c.fingerprint256), [intermediate!.fingerprint256, root!.fingerprint256]);
  await t.rejects(store.verify(intermediate!, [], new Date('2027-01-01T00:00:00Z')), /expired/);
});

t.test('0xFF padding after the DER (IBM sends the whole NV index) is cut off', async (t) => {
  const der = derCertificate(Buffer.from(enroll.ekcert, 'hex'));
  t.equal(der.length, 836, 'IBM sends 1000 bytes: 836 of certificate, then 0xFF');
  const padded = Buffer.concat([der, Buffer.alloc(300, 0xff)]);
  t.same(derCertificate(padded), derCertificate(der));
  t.throws(() => derCertificate(Buffer.concat([der, Buffer.from('junk')])), CertificateError);
  t.throws(() => derCertificate(der.subarray(0, der.length - 10)), /truncated/);
  t.throws(() => derCertificate(Buffer.from('3082', 'hex')), CertificateError);
  t.throws(() => parseDerCertificate(Buffer.from('30030201ff', 'hex')), /malformed certificate/);
});

t.test('expired EK certificate and intermediate chains', async (t) => {
  const root = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const mid = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ek = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const day = 86400_000;
  const now = Date.now();
  const ca = (subject: string, key: typeof root, signer: typeof root, issuer: string, from: number, to: number) =>
    new X509Certificate(
      buildCertificate({
        serial: Buffer.from([1, 2, 3]),
        issuer: [['CN', issuer]],
        subject: [['CN', subject]],
        notBefore: new Date(from),
        notAfter: new Date(to),
        publicKey: key.publicKey,
        extensions: [{ name: 'basicConstraints', critical: true, cA: true }],
        signingKey: signer.privateKey,
      }),
    );
  const rootCert = ca('Test Root', root, root, 'Test Root', now - day, now + 365 * day);
  const midCert = ca('Test Intermediate', mid, root, 'Test Root', now - day, now + 365 * day);
  const leaf = (from: number, to: number) =>
    new X509Certificate(
      buildCertificate({
        serial: Buffer.from([9]),
        issuer: [['CN', 'Test Intermediate']],
        subject: [['CN', 'EK']],
        notBefore: new Date(from),
        notAfter: new Date(to),
        publicKey: ek.publicKey,
        extensions: [],
        signingKey: mid.privateKey,
      }),
    );
  const store = new TrustStore();
  store.add(rootCert);
  const good = leaf(now - day, now + day);
  await t.rejects(store.verify(good), /no trusted CA/, 'intermediate not supplied');
  t.equal((await store.verify(good, [midCert])).length, 3, 'chain through the supplied intermediate');
  await t.rejects(store.verify(leaf(now - 3 * day, now - day), [midCert]), /expired/);
  await t.rejects(store.verify(leaf(now + day, now + 3 * day), [midCert]), /not valid before/);
  const forged = ca('Test Intermediate', mid, mid, 'Test Root', now - day, now + day);
  await t.rejects(store.verify(good, [forged]), /no trusted CA/, 'self-signed impostor intermediate');
});
