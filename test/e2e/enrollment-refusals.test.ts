/**
 * Every enrollment refusal answers its PROTOCOL.md code and changes no row
 * of the machines table (MariaDB, over TCP). The requests are an enrolled
 * machine's own (its swtpm EK certificate, an AK that passes every check)
 * with one fault each, so a check that stopped working would let the request
 * through and change the row; the first test shows the faultless request
 * does exactly that. Challenges are recovered by the swtpm with
 * TPM2_ActivateCredential, as the client does.
 */
import { X509Certificate, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { AK_ATTRIBUTES, activateCredential, akTemplate, loadAk } from '../../client/ak.js';
import { createEk, findEkCertificate } from '../../client/ek.js';
import { enroll } from '../../client/enroll.js';
import { loadAkBlobs } from '../../client/state-dir.js';
import { withFlushed } from '../../client/tpm/commands/objects.js';
import { Tpm } from '../../client/tpm/tpm.js';
import { buildCertificate } from '../../shared/crypto/x509-builder.js';
import { publicWithKey } from '../../shared/crypto/keys.js';
import { type JsonObject } from '../../shared/protocol/frame.js';
import { exchange } from '../../client/exchange.js';
import { parseResponse, serializeRequest } from '../../shared/protocol/messages.js';
import { TPM_ALG, TPM_ECC, TPMA_OBJECT } from '../../shared/tpm/constants.js';
import { marshalPublic, type EccPublic, type RsaPublic, type TpmPublic } from '../../shared/tpm/public.js';
import { startTestServer, type TestServer } from '../helpers/acs-server.js';
import { machineRows, refusedWithoutChange } from '../helpers/machines-table.js';
import { startSwtpm } from '../helpers/swtpm.js';

const DAY = 86_400_000;
const tpm = await startSwtpm({ t });

/** An EK CA of our own that the server trusts, to issue EK certificates with chosen faults. */
const caKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const caCert = selfSignedCa('Test EK CA', caKeys.privateKey, caKeys.publicKey);
const trust = [tpm.caCertPem, tpm.intermediateCertPem, caCert.toString()];
const server = await startTestServer(t, { trust });
const scratch = await mkdtemp(join(tmpdir(), 'acs-refusals-'));
t.teardown(() => rm(scratch, { recursive: true, force: true }));

function selfSignedCa(cn: string, signingKey: KeyObject, publicKey: KeyObject): X509Certificate {
  return new X509Certificate(buildCertificate({
    serial: randomBytes(8), issuer: [['CN', cn]], subject: [['CN', cn]],
    notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 365 * DAY), publicKey,
    extensions: [{ name: 'basicConstraints', critical: true, cA: true }, { name: 'keyUsage', critical: true, keyCertSign: true }],
    signingKey,
  }));
}

function ekCertificate(issuer: X509Certificate, signingKey: KeyObject, publicKey: KeyObject, notBefore: number, notAfter: number): Buffer {
  return buildCertificate({
    serial: randomBytes(8), issuerDer: issuer.raw, subject: [['CN', 'crafted EK']],
    notBefore: new Date(notBefore), notAfter: new Date(notAfter), publicKey, extensions: [], signingKey,
  });
}

// The machine whose requests the faults are made from.
const HOST = 'victim.test';
const stateDir = join(scratch, 'victim');
await enroll({ server: { host: '127.0.0.1', port: server.port }, tcti: tpm.tcti, ekAlg: 'rsa', alg: 'rsa', hostname: HOST, stateDir });
const victim = await server.store.getMachine(HOST);
if (!victim?.enrolled) throw new Error(`${HOST} did not enroll`);
const ekCert = new X509Certificate(victim.ekcertificatepem);

/** AK TPMT_PUBLIC made in software: the server checks the structure before TPM2_MakeCredential. */
const keys = {
  rsa2048: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
  rsa1024: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey,
  p384: generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey,
};
const rsaAk = akTemplate('rsa') as RsaPublic;
const eccAk = akTemplate('ecc') as EccPublic;
const akpub = (template: TpmPublic, key: KeyObject): Buffer => marshalPublic(publicWithKey(template, key));

const goodAk = akpub(rsaAk, keys.rsa2048).toString('hex');
const good = serializeRequest({ command: 'enrollrequest', hostname: HOST, tpmvendor: 'IBM ', ekcert: ekCert.raw, akpub: Buffer.from(goodAk, 'hex') });
const send = (req: JsonObject, srv: TestServer = server) => () => exchange('127.0.0.1', srv.port, req);
const without = (req: JsonObject, member: string): JsonObject => Object.fromEntries(Object.entries(req).filter(([k]) => k !== member));

t.test('control: the faultless request is accepted and changes the row', async (t) => {
  const before = await machineRows(server.store);
  const res = parseResponse('enrollrequest', await exchange('127.0.0.1', server.port, good));
  t.ok(res.credentialblob.length > 0 && res.secret.length > 0, 'answered with a credential');
  t.notSame(await machineRows(server.store), before, 'the row changed');
  t.equal((await server.store.getMachine(HOST))?.pendingAttestpub, goodAk, 'the AK is pending');
});

t.test('EK certificate from an unknown CA (90000007)', async (t) => {
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const strangerCa = selfSignedCa('Unknown EK CA', stranger.privateKey, stranger.publicKey);
  const ekcert = ekCertificate(strangerCa, stranger.privateKey, ekCert.publicKey, Date.now() - DAY, Date.now() + DAY);
  const err = await refusedWithoutChange(t, server.store, '90000007', send({ ...good, ekcert: ekcert.toString('hex') }));
  t.match(err.message, /no trusted CA/);
});

t.test('expired EK certificate from a trusted CA (90000007); the same CA\'s valid one is accepted', async (t) => {
  const ekKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  const req = { ...good, hostname: 'new-ek.test' };
  const expired = ekCertificate(caCert, caKeys.privateKey, ekKey, Date.now() - 3 * DAY, Date.now() - DAY);
  const err = await refusedWithoutChange(t, server.store, '90000007', send({ ...req, ekcert: expired.toString('hex') }));
  t.match(err.message, /expired/);
  const notYet = ekCertificate(caCert, caKeys.privateKey, ekKey, Date.now() + DAY, Date.now() + 3 * DAY);
  t.match((await refusedWithoutChange(t, server.store, '90000007', send({ ...req, ekcert: notYet.toString('hex') }))).message, /not valid before/);

  const valid = ekCertificate(caCert, caKeys.privateKey, ekKey, Date.now() - DAY, Date.now() + DAY);
  await exchange('127.0.0.1', server.port, { ...req, ekcert: valid.toString('hex') });
  t.equal((await server.store.getMachine('new-ek.test'))?.ekcertificatepem, new X509Certificate(valid).toString(), 'valid certificate accepted');
});

t.test('malformed EK certificates (90000007)', async (t) => {
  const der = ekCert.raw;
  const cases: [string, Buffer][] = [
    ['not a DER SEQUENCE', Buffer.from('deadbeef', 'hex')],
    ['truncated', der.subarray(0, der.length - 20)],
    ['a SEQUENCE that is no certificate', Buffer.from('3003020101', 'hex')],
    ['junk after the certificate', Buffer.concat([der, Buffer.from('junk')])],
    ['a flipped signature bit', Buffer.concat([der.subarray(0, -1), Buffer.from([der[der.length - 1] ^ 1])])],
  ];
  for (const [what, ekcert] of cases) {
    t.test(what, (t) => refusedWithoutChange(t, server.store, '90000007', send({ ...good, ekcert: ekcert.toString('hex') })));
  }
  t.test('malformed intermediatecert', (t) =>
    refusedWithoutChange(t, server.store, '90000007', send({ ...good, intermediatecert: '3003020101' })));
});

t.test('malformed hex (90000006) and missing members (90000005)', async (t) => {
  for (const [member, value] of [['ekcert', 'zz'], ['akpub', goodAk.slice(1)], ['akpub', ''], ['intermediatecert', '30g0']] as const) {
    await refusedWithoutChange(t, server.store, '90000006', send({ ...good, [member]: value }));
  }
  await refusedWithoutChange(t, server.store, '90000006', send({ command: 'enrollcert', hostname: HOST, challenge: 'x'.repeat(64) }));
  for (const member of ['hostname', 'tpmvendor', 'ekcert', 'akpub']) {
    await refusedWithoutChange(t, server.store, '90000005', send(without(good, member)));
  }
  await refusedWithoutChange(t, server.store, '90000005', send({ command: 'enrollcert', hostname: HOST }));
  await refusedWithoutChange(t, server.store, '90000005', send({ command: 'enrollcert', challenge: '00'.repeat(32) }));
});

t.test('an AK that is not a restricted, TPM-bound signing key used with its authValue (90000024) names the fault', async (t) => {
  // TPM 2.0 Part 2 §8.3 TPMA_OBJECT: each case clears a required attribute or sets a forbidden one.
  const cases: [string, Partial<TpmPublic>, RegExp][] = [
    ['not restricted', { objectAttributes: AK_ATTRIBUTES & ~TPMA_OBJECT.restricted }, /lacks restricted\b/],
    ['not fixedTPM', { objectAttributes: AK_ATTRIBUTES & ~TPMA_OBJECT.fixedTPM }, /lacks fixedTPM\b/],
    ['not fixedParent', { objectAttributes: AK_ATTRIBUTES & ~TPMA_OBJECT.fixedParent }, /lacks fixedParent\b/],
    ['not sensitiveDataOrigin', { objectAttributes: AK_ATTRIBUTES & ~TPMA_OBJECT.sensitiveDataOrigin }, /lacks sensitiveDataOrigin\b/],
    ['not userWithAuth', { objectAttributes: AK_ATTRIBUTES & ~TPMA_OBJECT.userWithAuth }, /lacks userWithAuth\b/],
    ['not a signing key', { objectAttributes: AK_ATTRIBUTES & ~TPMA_OBJECT.sign }, /lacks sign\b/],
    ['can decrypt', { objectAttributes: AK_ATTRIBUTES | TPMA_OBJECT.decrypt }, /sets decrypt\b/],
    ['adminWithPolicy', { objectAttributes: AK_ATTRIBUTES | TPMA_OBJECT.adminWithPolicy }, /sets adminWithPolicy\b/],
    ['an authPolicy', { authPolicy: Buffer.alloc(32, 0x5a) }, /has an authPolicy/],
  ];
  for (const [what, change, message] of cases) {
    const req = { ...good, akpub: akpub({ ...rsaAk, ...change } as TpmPublic, keys.rsa2048).toString('hex') };
    t.test(what, async (t) => t.match((await refusedWithoutChange(t, server.store, '90000024', send(req))).message, message));
  }
  t.test('an ECC AK with adminWithPolicy', async (t) => {
    const req = { ...good, akpub: akpub({ ...eccAk, objectAttributes: AK_ATTRIBUTES | TPMA_OBJECT.adminWithPolicy }, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey).toString('hex') };
    t.match((await refusedWithoutChange(t, server.store, '90000024', send(req))).message, /sets adminWithPolicy\b/);
  });
});

t.test('an AK of an unsupported algorithm (9000001e) or malformed (9000001f)', async (t) => {
  const cases: [string, Buffer][] = [
    ['RSA-1024', akpub({ ...rsaAk, parameters: { ...rsaAk.parameters, keyBits: 1024 } }, keys.rsa1024)],
    ['ECC P-384', akpub({ ...eccAk, parameters: { ...eccAk.parameters, curveId: TPM_ECC.NIST_P384 } }, keys.p384)],
    ['SHA-1 nameAlg', akpub({ ...rsaAk, nameAlg: TPM_ALG.SHA1 }, keys.rsa2048)],
    ['RSASSA-SHA1 scheme', akpub({ ...rsaAk, parameters: { ...rsaAk.parameters, scheme: { scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA1 } } }, keys.rsa2048)],
  ];
  for (const [what, pub] of cases) {
    t.test(what, (t) => refusedWithoutChange(t, server.store, '9000001e', send({ ...good, akpub: pub.toString('hex') })));
  }
  t.test('truncated TPMT_PUBLIC', (t) => refusedWithoutChange(t, server.store, '9000001f', send({ ...good, akpub: goodAk.slice(0, -8) })));
});

/** The swtpm's TPM2_ActivateCredential of a server answer with its RSA EK and the AK in stateDir. */
async function activate(answer: JsonObject): Promise<Buffer> {
  const { credentialblob, secret } = parseResponse('enrollrequest', answer);
  const blobs = await loadAkBlobs(stateDir, 'rsa');
  if (!blobs) throw new Error('no AK blobs');
  const conn = await Tpm.open(tpm.tcti);
  try {
    const cert = await findEkCertificate(conn, 'rsa');
    return await withFlushed(conn, createEk(conn, cert), (ek) =>
      withFlushed(conn, loadAk(conn, blobs), (ak) => activateCredential(conn, ek, ak, credentialblob, secret)));
  } finally {
    await conn.close();
  }
}

/** The enrollrequest the client sends: the TPM's EK certificate and its AK. */
const tpmRequest = (hostname: string) => ({ ...good, hostname, akpub: victim.attestpub });
const enrollcert = (hostname: string, challenge: Buffer) => serializeRequest({ command: 'enrollcert', hostname, challenge });

t.test('enrollcert without an enrollrequest (90000021)', async (t) => {
  await refusedWithoutChange(t, server.store, '90000021', send(enrollcert('never-asked.test', randomBytes(32))));
});

t.test('a wrong challenge (90000008); the right one once, then never again (90000021)', async (t) => {
  const challenge = await activate(await exchange('127.0.0.1', server.port, tpmRequest(HOST)));
  t.equal(challenge.length, 32);
  const flipped = Buffer.from(challenge);
  flipped[0] ^= 1;
  await refusedWithoutChange(t, server.store, '90000008', send(enrollcert(HOST, flipped)));
  await refusedWithoutChange(t, server.store, '90000008', send(enrollcert(HOST, challenge.subarray(0, 16))));

  const { akcert } = parseResponse('enrollcert', await exchange('127.0.0.1', server.port, enrollcert(HOST, challenge)));
  const row = await server.store.getMachine(HOST);
  t.equal(row?.akcertificatepem, akcert, 'enrolled with the activated challenge');
  t.equal(row?.challenge, null, 'challenge cleared');
  await refusedWithoutChange(t, server.store, '90000021', send(enrollcert(HOST, challenge)));
});

t.test('an expired challenge (90000108)', async (t) => {
  const hasty = await startTestServer(t, { trust, challengeTtlMs: 1 });
  const challenge = await activate(await exchange('127.0.0.1', hasty.port, tpmRequest('slow.test')));
  await sleep(20);
  await refusedWithoutChange(t, hasty.store, '90000108', send(enrollcert('slow.test', challenge), hasty));
  t.equal((await hasty.store.getMachine('slow.test'))?.enrolled, null, 'still not enrolled');
});
