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
keyUsage=critical,keyEncipherment
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
    ['keyUsage', true, 'keyEncipherment'],
    ['extKeyUsage', false, 'EK certificate (tcg-kp-EKCertificate)'],
    ['subjectKeyIdentifier', false, ski.replace(/:/g, '').toLowerCase()],
  ]);
});

t.test('a stored PEM that does not parse is reported, not thrown', async (t) => {
  const bad = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
  const view = viewCertificate(bad);
  t.equal(view.ok, false);
  t.match(view, { error: /^certificate does not parse/, pem: bad });
});
