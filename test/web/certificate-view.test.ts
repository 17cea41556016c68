/**
 * Certificate decoding for the machine page, checked against an EK-style
 * certificate made by openssl (TCG EK Credential Profile §3.2.9 subjectAltName
 * directoryName with TPM manufacturer, model and version; tcg-kp-EKCertificate).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { CertificateFormatError, certificateText, decodeKeyUsage, describeCertificate } from '../../shared/crypto/certificate-info.js';
import { PrivacyCa } from '../../server/privacy-ca.js';
import { viewCertificate } from '../../web/certificate-view.js';

const CONFIG = `oid_section=tcg_oids
[tcg_oids]
tpmManufacturer=2.23.133.2.1
tpmModel=2.23.133.2.2
tpmVersion=2.23.133.2.3
[req]
distinguished_name=dn
prompt=no
[dn]
CN=ek.example
[ext]
subjectAltName=critical,dirName:tpm_dn
basicConstraints=critical,CA:FALSE
keyUsage=critical,keyEncipherment,keyAgreement,decipherOnly
extendedKeyUsage=2.23.133.8.1
subjectKeyIdentifier=hash
[tpm_dn]
tpmManufacturer=id:00001014
tpmModel=swtpm
tpmVersion=id:20191023
`;

t.test('an EK-style certificate made by openssl', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cert-view-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ek.cnf'), CONFIG);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'),
    '-out', join(dir, 'c.pem'), '-config', join(dir, 'ek.cnf'), '-extensions', 'ext', '-days', '3'], { stdio: 'ignore' });
  const pem = readFileSync(join(dir, 'c.pem'), 'utf8');
  const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(execFileSync('openssl', ['x509', '-noout', '-text', '-in', join(dir, 'c.pem')], { encoding: 'utf8' }))![1]!;
  const view = viewCertificate(pem);
  if (!view.ok) throw new Error(view.error);
  t.match(view.cert, { subject: 'CN=ek.example', publicKey: 'EC prime256v1', signatureAlgorithm: 'ecdsa-with-SHA256' });
  t.same(view.cert.extensions.map((e) => [e.name, e.critical, e.value]), [
    ['subjectAltName', true, 'dirName:TPM manufacturer=id:00001014, TPM model=swtpm, TPM version=id:20191023'],
    ['basicConstraints', true, 'CA: false'],
    ['keyUsage', true, 'keyEncipherment, keyAgreement, decipherOnly'],
    ['extKeyUsage', false, 'EK certificate (tcg-kp-EKCertificate)'],
    ['subjectKeyIdentifier', false, ski.replace(/:/g, '').toLowerCase()],
  ]);

  // keyUsage is the 2.5.29.15 bits (openssl prints them too); extendedKeyUsage the 2.5.29.37 purposes.
  const dump = execFileSync('openssl', ['x509', '-noout', '-ext', 'keyUsage,extendedKeyUsage', '-in', join(dir, 'c.pem')], { encoding: 'utf8' });
  t.match(dump, /Key Encipherment, Key Agreement, Decipher Only/);
  t.same(view.cert.keyUsage, ['keyEncipherment', 'keyAgreement', 'decipherOnly']);
  t.same(view.cert.extendedKeyUsage, ['2.23.133.8.1']);
  const text = certificateText(new X509Certificate(pem)).split('\n');
  t.ok(text.includes('Key Usage: keyEncipherment, keyAgreement, decipherOnly'), 'text dump: key usage bits');
  t.ok(text.includes('Extended Key Usage: 2.23.133.8.1'), 'text dump: extended key usage');
});

t.test('an AK certificate from the privacy CA: digitalSignature only, no extended key usage', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cert-view-ca-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await PrivacyCa.init(dir);
  const ca = await PrivacyCa.load(dir);
  const ak = ca.issueAkCertificate('ak.example', generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey);
  t.match(describeCertificate(ak), { keyUsage: ['digitalSignature'], extendedKeyUsage: [], isCa: false });
  t.match(describeCertificate(ca.cert), { keyUsage: ['keyCertSign', 'cRLSign'], isCa: true });
  t.ok(certificateText(ak).split('\n').includes('Extended Key Usage: (none)'));
});

t.test('keyUsage values that are not a DER BIT STRING are a typed error', async (t) => {
  t.same(decodeKeyUsage(Buffer.from('03020780', 'hex')), ['digitalSignature']);
  t.same(decodeKeyUsage(Buffer.from('0303070080', 'hex')), ['decipherOnly']);
  t.same(decodeKeyUsage(Buffer.from('030100', 'hex')), []);
  for (const bad of ['', '03', '0402 0780', '03030780', '03020880', '0381020780']) {
    t.throws(() => decodeKeyUsage(Buffer.from(bad.replace(' ', ''), 'hex')), CertificateFormatError, `${bad || 'empty'}`);
  }
});

t.test('a stored PEM that does not parse is reported, not thrown', async (t) => {
  const bad = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
  const view = viewCertificate(bad);
  t.equal(view.ok, false);
  t.match(view, { error: /^certificate does not parse/, pem: bad });
});
