import t from 'tap';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { subjectCommonName } from '../../shared/crypto/certificate-info.js';
import { CA_CERT_FILE, CA_KEY_FILE, PrivacyCa, PrivacyCaError } from '../../server/privacy-ca.js';

t.test('privacy CA: init, load, issue AK certificates for RSA and EC keys', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acs-ca-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  t.equal(await PrivacyCa.init(dir), true, 'created');
  t.equal(await PrivacyCa.init(dir), false, 'second init keeps the existing CA');
  t.equal((await stat(join(dir, CA_KEY_FILE))).mode & 0o777, 0o600, 'key file is 0600');
  const ca = await PrivacyCa.load(dir);
  t.ok(ca.cert.ca, 'CA certificate has cA=true');

  const hostname = 'xn--bcher-kva.example';
  for (const [type, opts] of [
    ['rsa', { modulusLength: 2048 }],
    ['ec', { namedCurve: 'prime256v1' }],
  ] as const) {
    const { publicKey } = generateKeyPairSync(type as 'rsa', opts as { modulusLength: number });
    const cert = ca.issueAkCertificate(hostname, publicKey);
    t.ok(cert.verify(ca.cert.publicKey), `${type}: signed by the CA`);
    t.ok(cert.checkIssued(ca.cert), `${type}: issuer name is the CA subject`);
    t.equal(subjectCommonName(cert), hostname, `${type}: subject CN is the hostname`);
    t.same(
      cert.publicKey.export({ type: 'spki', format: 'der' }),
      publicKey.export({ type: 'spki', format: 'der' }),
      `${type}: certified key equals the AK`,
    );
    t.same(cert.keyUsage ?? [], [], `${type}: no extended key usage`);
    t.notOk(cert.ca, `${type}: not a CA`);
    // Independent check of the chain and extensions with OpenSSL.
    const leaf = join(dir, `${type}.pem`);
    await writeFile(leaf, cert.toString());
    const out = execFileSync('openssl', ['verify', '-CAfile', join(dir, CA_CERT_FILE), leaf]).toString();
    t.match(out, /OK/, `${type}: openssl verifies the chain`);
    const text = execFileSync('openssl', ['x509', '-in', leaf, '-noout', '-text']).toString();
    t.match(text, /Digital Signature/, `${type}: keyUsage digitalSignature`);
    t.notMatch(text, /Certificate Sign/, `${type}: cannot sign certificates`);
  }
});

t.test('privacy CA never certifies a name that is not a DNS host name in normal form', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acs-ca-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await PrivacyCa.init(dir);
  const ca = await PrivacyCa.load(dir);
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  for (const hostname of ['evil\r\nCN=admin', '<script>alert(1)</script>', 'a\u0000b', 'Upper.Example', 'dot.example.', 'bücher.example', 'x\ud800']) {
    t.throws(() => ca.issueAkCertificate(hostname, publicKey), PrivacyCaError, JSON.stringify(hostname));
  }
});

t.test('privacy CA key readable by others is refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acs-ca-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await PrivacyCa.init(dir);
  await chmod(join(dir, CA_KEY_FILE), 0o644);
  await t.rejects(PrivacyCa.load(dir), PrivacyCaError);
  await chmod(join(dir, CA_KEY_FILE), 0o640);
  await t.rejects(PrivacyCa.load(dir), /group or others/);
  t.ok(new X509Certificate(await readFile(join(dir, CA_CERT_FILE))), 'certificate stays readable');
});

t.test('missing CA says how to create it', async (t) => {
  await t.rejects(PrivacyCa.load('/nonexistent-acs-ca'), /acs-server init/);
});
