import { execFileSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync, hash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildCertificate } from '../../shared/crypto/x509-builder.js';
import { parseModsig } from '../../shared/eventlog/ima/modsig.js';
import { ImaKeyring } from '../../shared/eventlog/ima/signature.js';
import { decodeImaTemplate, type ImaTemplateInfo } from '../../shared/eventlog/ima/template.js';
import { imaFile, loadIma } from './fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'modsig-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
let files = 0;

/** A signing certificate and a detached PKCS#7 signature over `content`, made by openssl cms as sign-file makes them. */
function signer(serial = '0badcafe01') {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const name: [string, string][] = [['CN', 'module signing key']];
  const x509 = new X509Certificate(buildCertificate({
    serial: Buffer.from(serial, 'hex'),
    issuer: name,
    subject: name,
    notBefore: new Date(),
    notAfter: new Date(Date.now() + 86_400_000),
    publicKey: pair.publicKey,
    extensions: [{ name: 'subjectKeyIdentifier' }],
    signingKey: pair.privateKey,
  }));
  const base = join(work, String(files++));
  writeFileSync(`${base}.crt`, x509.toString());
  writeFileSync(`${base}.key`, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  /** Named by issuer and serial unless `byKeyId` (RFC 5652 §5.3 subjectKeyIdentifier). */
  const sign = (content: string, withAttributes: boolean, byKeyId = false): Buffer => {
    writeFileSync(`${base}.in`, content);
    execFileSync('openssl', [
      'cms', '-sign', '-binary', '-md', 'sha256', '-signer', `${base}.crt`, '-inkey', `${base}.key`, '-in', `${base}.in`,
      '-outform', 'DER', '-out', `${base}.p7s`, ...(withAttributes ? [] : ['-noattr']), ...(byKeyId ? ['-keyid'] : []),
    ], { stdio: 'ignore' });
    return readFileSync(`${base}.p7s`);
  };
  return { x509, publicKey: pair.publicKey, sign };
}

const modsigEvent = (content: string, modsig: Buffer): ImaTemplateInfo => ({
  fields: [],
  fileDigest: { alg: 'sha256', digest: hash('sha256', `${content} and its signature`, 'buffer') },
  modsigDigest: { alg: 'sha256', digest: hash('sha256', content, 'buffer') },
  modsig,
});

t.test('appended PKCS#7 signatures verify against the d-modsig digest', async (t) => {
  const s = signer();
  const keys = new ImaKeyring([s.x509]);
  for (const withAttributes of [false, true]) {
    const what = withAttributes ? 'with signed attributes' : 'without signed attributes';
    const sig = s.sign('module contents', withAttributes);
    const parsed = parseModsig(sig);
    t.equal(parsed.digestAlg, 'sha256');
    t.equal(parsed.sid.serial!.toString('hex'), '0badcafe01', 'signer named by issuer and serial');
    t.equal(parsed.signedAttrs !== null, withAttributes);
    t.equal(keys.verifyEvent(modsigEvent('module contents', sig)), 'ok', what);
    t.equal(keys.verifyEvent(modsigEvent('other contents', sig)), 'badsig', `${what}, other file`);
  }
  const sig = s.sign('module contents', false);
  t.equal(new ImaKeyring([signer('0badcafe02').x509]).verifyEvent(modsigEvent('module contents', sig)), 'nokey', 'another certificate');
  t.equal(new ImaKeyring([signer().x509]).verifyEvent(modsigEvent('module contents', sig)), 'badsig', 'same issuer and serial, other key');
  t.equal(new ImaKeyring([s.publicKey]).verifyEvent(modsigEvent('module contents', sig)), 'nokey', 'a bare key cannot match issuer and serial');
  t.equal(keys.verifyEvent(modsigEvent('module contents', Buffer.from('3003020100', 'hex'))), 'badsig', 'not PKCS#7');
  const byKeyId = s.sign('module contents', true, true);
  t.ok(parseModsig(byKeyId).sid.subjectKeyIds.length === 1 && !parseModsig(byKeyId).sid.serial, 'signer named by subject key identifier');
  t.equal(keys.verifyEvent(modsigEvent('module contents', byKeyId)), 'ok', 'named by key identifier');
  t.equal(new ImaKeyring([s.publicKey]).verifyEvent(modsigEvent('module contents', byKeyId)), 'ok', 'a bare key matches its key identifier');
  const withSig = { ...modsigEvent('module contents', sig), signature: Buffer.from('030204aabbccdd0000', 'hex') };
  t.equal(keys.verifyEvent(withSig), 'nokey', 'an xattr signature takes precedence');
});

t.test('the kernel\'s own modsig in ibmtss_imatest parses', async (t) => {
  const events = loadIma(imaFile('ibmtss_imatest.bin'));
  const info = decodeImaTemplate(events[16]);
  const parsed = parseModsig(info.modsig!);
  t.equal(parsed.digestAlg, 'sha256');
  t.ok(parsed.sid.issuer && parsed.sid.serial, 'signed by issuer and serial');
  t.equal(parsed.signedAttrs, null, 'kernel signatures carry no signed attributes');
  t.equal(new ImaKeyring().verifyEvent(info), 'nokey', 'its key is not supplied');
  t.equal(new ImaKeyring().verifyEvent(decodeImaTemplate(events[9])), 'nosig', 'ima-modsig entry with nothing appended');
});
