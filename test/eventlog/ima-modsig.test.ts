import { X509Certificate, generateKeyPairSync, hash } from 'node:crypto';
import forge from 'node-forge';
import t from 'tap';
import { parseModsig } from '../../shared/eventlog/ima/modsig.js';
import { ImaKeyring } from '../../shared/eventlog/ima/signature.js';
import { decodeImaTemplate, type ImaTemplateInfo } from '../../shared/eventlog/ima/template.js';
import { imaFile, loadIma } from './fixtures.js';

/** A signing certificate and a detached PKCS#7 signature over `content`, as sign-file or openssl cms make them. */
function signer(serial = '0badcafe01') {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = forge.pki.privateKeyFromPem(pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(pair.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = serial;
  cert.validity.notBefore = new Date();
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const name = [{ name: 'commonName', value: 'module signing key' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([{ name: 'subjectKeyIdentifier' }]);
  cert.sign(key, forge.md.sha256.create());
  const x509 = new X509Certificate(forge.pki.certificateToPem(cert));
  const sign = (content: string, withAttributes: boolean): Buffer => {
    const p7 = forge.pkcs7.createSignedData();
    p7.content = forge.util.createBuffer(content);
    p7.addSigner({
      key,
      certificate: cert,
      digestAlgorithm: forge.pki.oids.sha256,
      authenticatedAttributes: withAttributes
        ? [{ type: forge.pki.oids.contentType, value: forge.pki.oids.data }, { type: forge.pki.oids.messageDigest }, { type: forge.pki.oids.signingTime, value: new Date() as unknown as string }]
        : [],
    });
    p7.sign({ detached: true });
    return Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'binary');
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
