/**
 * Enrollment end to end over TCP: the client with a real swtpm against the
 * server on a fresh MariaDB database. Every AK/EK combination enrolls and
 * leaves a complete machines row; the AK certificate chains to the privacy
 * CA (node:crypto and `openssl verify`) and certifies the TPM's AK, read back
 * with tpm2-tools; the EK certificate stored is the one tpm2-tools reads from
 * the TPM's NV index. Also: IBM's captured enrollrequest, re-enrollment, and
 * the 90000022 refusals that protect an enrolled hostname or EK.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import type { KeyAlg } from '../../client/ak.js';
import type { EkAlg } from '../../client/ek.js';
import { enroll, type EnrollResult } from '../../client/enroll.js';
import { findEkCertificate } from '../../client/ek.js';
import { Tpm } from '../../client/tpm/tpm.js';
import type { MachineRow } from '../../db/store.js';
import { exchange, exchangeFrame } from '../../client/exchange.js';
import { serializeRequest } from '../../shared/protocol/messages.js';
import { unmarshalEncryptedSecret, unmarshalIdObject } from '../../shared/tpm/tpm2b.js';
import { startTestServer, type TestServer } from '../helpers/acs-server.js';
import { ACS_WIRE_DIR, readWireFrame, readWireJson } from '../helpers/acs-wire.js';
import { machineRows, refusedWithoutChange } from '../helpers/machines-table.js';
import { startSwtpm } from '../helpers/swtpm.js';

const run = promisify(execFile);
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
const spkiSha256 = (key: KeyObject): string => sha256(key.export({ type: 'spki', format: 'der' }));

const tpm = await startSwtpm({ t });
const trust = [tpm.caCertPem, tpm.intermediateCertPem];
const server = await startTestServer(t, { trust, roots: [join(ACS_WIRE_DIR, 'ekroots')] });
const scratch = await mkdtemp(join(tmpdir(), 'acs-enrollment-'));
t.teardown(() => rm(scratch, { recursive: true, force: true }));
const newStateDir = (): Promise<string> => mkdtemp(join(scratch, 'state-'));

/** EK certificate NV indices (TCG EK Credential Profile §2.2.1.5): RSA-2048 low range, ECC P-384 high range. */
const EK_CERT_NV: Record<EkAlg, string> = { rsa: '0x01c00002', ecc: '0x01c00016' };
const EK_ALG_COLUMN: Record<EkAlg, string> = { rsa: 'rsa2048', ecc: 'ecc-p384' };

/** The EK certificate as tpm2_nvread reads it from the TPM: an oracle independent of our client. */
async function ekCertFromNv(ekAlg: EkAlg): Promise<X509Certificate> {
  const { stdout } = await run('tpm2_nvread', ['-T', `swtpm:host=${tpm.host},port=${tpm.port}`, '-C', 'o', EK_CERT_NV[ekAlg]], {
    encoding: 'buffer',
  });
  return new X509Certificate(stdout);
}

/** The AK public key as tpm2_print decodes the TPMT_PUBLIC the client keeps in its state dir. */
async function akKeyFromStateDir(stateDir: string, alg: KeyAlg): Promise<KeyObject> {
  const { stdout } = await run('tpm2_print', ['-t', 'TPMT_PUBLIC', '-f', 'pem', join(stateDir, `ak-${alg}.pub`)]);
  return createPublicKey(stdout);
}

let opensslRuns = 0;
async function opensslVerify(srv: TestServer, pem: string): Promise<string> {
  const file = join(scratch, `akcert-${opensslRuns++}.pem`);
  await writeFile(file, pem);
  const { stdout } = await run('openssl', ['verify', '-CAfile', join(srv.caDir, 'cacert.pem'), file]);
  return stdout;
}

function enrollAs(srv: TestServer, hostname: string, ekAlg: EkAlg, alg: KeyAlg, stateDir: string): Promise<EnrollResult> {
  return enroll({ server: { host: '127.0.0.1', port: srv.port }, tcti: tpm.tcti, ekAlg, alg, hostname, stateDir });
}

interface Enrolled {
  hostname: string;
  ekAlg: EkAlg;
  alg: KeyAlg;
  stateDir: string;
  result: EnrollResult;
}

/** Every column enrollment fills, each checked against the TPM, the client's state dir or the privacy CA. */
async function checkEnrolled(t: Test, srv: TestServer, e: Enrolled): Promise<MachineRow> {
  const rows = (await machineRows(srv.store)).filter((r) => r.hostname === e.hostname);
  t.equal(rows.length, 1, 'one machines row for the hostname');
  const row = await srv.store.getMachine(e.hostname);
  if (!row) throw new Error(`no machines row for ${e.hostname}`);

  const ek = await ekCertFromNv(e.ekAlg);
  t.equal(row.tpmvendor, 'IBM ', 'tpmvendor: swtpm\'s TPM_PT_MANUFACTURER');
  t.equal(new X509Certificate(row.ekcertificatepem).fingerprint256, ek.fingerprint256, 'ekcertificatepem is the certificate in the TPM\'s NV index');
  t.equal(row.ekFingerprint, spkiSha256(ek.publicKey), 'ekFingerprint: SHA-256 of the EK SubjectPublicKeyInfo');
  t.ok(row.ekcertificatetext.includes('Issuer: CN=swtpm-localca'), 'ekcertificatetext names the issuer');
  t.ok(row.ekcertificatetext.includes(row.ekFingerprint), 'ekcertificatetext holds the key fingerprint');
  t.equal(row.ekAlg, EK_ALG_COLUMN[e.ekAlg]);

  const akpub = await readFile(join(e.stateDir, `ak-${e.alg}.pub`));
  t.equal(row.attestpub, akpub.toString('hex'), 'attestpub is the TPMT_PUBLIC in the state dir');
  t.equal(row.akName, `000b${sha256(akpub)}`, 'akName = SHA-256 nameAlg || H(TPMT_PUBLIC) (TPM 2.0 Part 1 §16)');
  t.equal(row.akAlg, e.alg);

  const pem = row.akcertificatepem ?? '';
  const akCert = new X509Certificate(pem);
  t.equal(pem, e.result.akCert.toString(), 'the certificate the client received');
  t.equal(await readFile(join(e.stateDir, `akcert-${e.alg}.pem`), 'utf8'), pem, 'the certificate the client stored');
  t.equal(akCert.subject, `CN=${e.hostname}`, 'subject CN is the hostname');
  t.ok(row.akcertificatetext?.includes(`Subject: CN=${e.hostname}`), 'akcertificatetext names the subject');
  const ca = new X509Certificate(await readFile(join(srv.caDir, 'cacert.pem')));
  t.ok(akCert.checkIssued(ca) && akCert.verify(ca.publicKey), 'AK certificate signed by the privacy CA');
  t.match(await opensslVerify(srv, pem), /: OK$/m, 'openssl verify -CAfile cacert.pem');
  const akKey = await akKeyFromStateDir(e.stateDir, e.alg);
  t.equal(akKey.asymmetricKeyType, e.alg === 'rsa' ? 'rsa' : 'ec');
  t.ok(akCert.publicKey.equals(akKey), 'certified key is the TPM\'s AK (tpm2_print of ak-*.pub)');

  t.ok(row.enrolled instanceof Date && Math.abs(Date.now() - row.enrolled.getTime()) < 60_000, 'enrolled is set');
  t.equal(row.challenge, null, 'challenge cleared');
  t.equal(row.challengeExpires, null);
  t.strictSame([row.pendingAttestpub, row.pendingAkName, row.pendingAkAlg], [null, null, null], 'nothing pending');
  return row;
}

const rsaEkDir = await newStateDir();

t.test('RSA-2048 EK: an RSA AK enrolls, then the same EK re-enrolls an ECC AK in its place', async (t) => {
  const first = await checkEnrolled(t, server, {
    hostname: 'rsa-ek.test', ekAlg: 'rsa', alg: 'rsa', stateDir: rsaEkDir,
    result: await enrollAs(server, 'rsa-ek.test', 'rsa', 'rsa', rsaEkDir),
  });
  const second = await checkEnrolled(t, server, {
    hostname: 'rsa-ek.test', ekAlg: 'rsa', alg: 'ecc', stateDir: rsaEkDir,
    result: await enrollAs(server, 'rsa-ek.test', 'rsa', 'ecc', rsaEkDir),
  });
  t.equal(second.id, first.id, 'the same row');
  t.not(second.akName, first.akName, 'new AK name');
  t.not(second.akcertificatepem, first.akcertificatepem, 'new AK certificate');
});

t.test('a hostname enrolled with one EK is refused for another EK (90000022)', async (t) => {
  const err = await refusedWithoutChange(t, server.store, '90000022', async () =>
    enrollAs(server, 'rsa-ek.test', 'ecc', 'rsa', await newStateDir()),
  );
  t.match(err.message, /different EK/);
});

t.test('ECC P-384 EK: an ECC AK enrolls, then an RSA AK, on a hostname another EK only asked for', async (t) => {
  // A pending enrollrequest proves nothing, so it must not reserve the hostname (90000022 is for enrolled ones).
  await exchange('127.0.0.1', server.port, { ...readWireJson('enroll-request.json'), hostname: 'ecc-ek.test' });
  const squatted = await server.store.getMachine('ecc-ek.test');
  t.equal(squatted?.enrolled, null, 'pending under IBM\'s EK');
  const dir = await newStateDir();
  for (const alg of ['ecc', 'rsa'] as const) {
    await checkEnrolled(t, server, { hostname: 'ecc-ek.test', ekAlg: 'ecc', alg, stateDir: dir, result: await enrollAs(server, 'ecc-ek.test', 'ecc', alg, dir) });
  }
});

t.test('an enrollrequest replayed under another hostname is refused: its EK is enrolled elsewhere (90000022)', async (t) => {
  const victim = await server.store.getMachine('rsa-ek.test');
  if (!victim) throw new Error('rsa-ek.test is not enrolled');
  const replay = serializeRequest({
    command: 'enrollrequest',
    hostname: 'thief.test',
    tpmvendor: victim.tpmvendor,
    ekcert: new X509Certificate(victim.ekcertificatepem).raw,
    akpub: Buffer.from(victim.attestpub, 'hex'),
  });
  const err = await refusedWithoutChange(t, server.store, '90000022', () => exchange('127.0.0.1', server.port, replay));
  t.match(err.message, /another hostname/);
  t.equal(await server.store.getMachine('thief.test'), undefined);
});

t.test('re-enrolling the same EK: a kept AK gets a new certificate, a new AK replaces the old one', async (t) => {
  const before = await server.store.getMachine('rsa-ek.test');
  const again = await enrollAs(server, 'rsa-ek.test', 'rsa', 'ecc', rsaEkDir);
  t.equal(again.akReused, true, 'the client kept its AK');
  const kept = await checkEnrolled(t, server, { hostname: 'rsa-ek.test', ekAlg: 'rsa', alg: 'ecc', stateDir: rsaEkDir, result: again });
  t.equal(kept.akName, before?.akName, 'same AK');
  t.not(kept.akcertificatepem, before?.akcertificatepem, 'a fresh certificate');

  const freshDir = await newStateDir();
  const fresh = await enrollAs(server, 'rsa-ek.test', 'rsa', 'ecc', freshDir);
  t.equal(fresh.akReused, false, 'a new AK from an empty state dir');
  const replaced = await checkEnrolled(t, server, { hostname: 'rsa-ek.test', ekAlg: 'rsa', alg: 'ecc', stateDir: freshDir, result: fresh });
  t.not(replaced.akName, kept.akName, 'new AK name');
  t.not(new X509Certificate(replaced.akcertificatepem ?? '').serialNumber, new X509Certificate(kept.akcertificatepem ?? '').serialNumber, 'new certificate');
});

t.test('allowReenroll: an enrolled hostname moves to another EK', async (t) => {
  const lenient = await startTestServer(t, { trust, allowReenroll: true });
  const dir = await newStateDir();
  const first = await checkEnrolled(t, lenient, { hostname: 'moved.test', ekAlg: 'rsa', alg: 'rsa', stateDir: dir, result: await enrollAs(lenient, 'moved.test', 'rsa', 'rsa', dir) });

  // An enrollrequest alone proves nothing: the EK columns stay until its challenge is answered.
  const handle = await Tpm.open(tpm.tcti);
  const eccEk = await findEkCertificate(handle, 'ecc').finally(() => handle.close());
  await exchange('127.0.0.1', lenient.port, serializeRequest({
    command: 'enrollrequest', hostname: 'moved.test', tpmvendor: first.tpmvendor, ekcert: eccEk.der, akpub: Buffer.from(first.attestpub, 'hex'),
  }));
  const requested = await lenient.store.getMachine('moved.test');
  t.equal(requested?.ekFingerprint, first.ekFingerprint, 'still bound to the RSA EK while the request is pending');
  t.equal(requested?.ekcertificatepem, first.ekcertificatepem);
  t.equal(requested?.pendingEkcertificatepem, eccEk.cert.toString(), 'the ECC EK waits in the pending columns');
  t.ok(requested?.enrolled, 'still enrolled');

  const moved = await checkEnrolled(t, lenient, { hostname: 'moved.test', ekAlg: 'ecc', alg: 'rsa', stateDir: dir, result: await enrollAs(lenient, 'moved.test', 'ecc', 'rsa', dir) });
  t.equal(moved.id, first.id, 'the same row');
  t.not(moved.ekFingerprint, first.ekFingerprint, 'now bound to the ECC EK');
  t.equal(moved.pendingEkcertificatepem, null, 'nothing pending once enrolled');
});

t.test('IBM\'s captured enrollrequest frame is accepted and answered with a well-formed challenge', async (t) => {
  const request = readWireJson('enroll-request.json') as Record<string, string>;
  const ibmAnswer = readWireJson('enroll-response.json') as Record<string, string>;
  const res = await exchangeFrame('127.0.0.1', server.port, [readWireFrame('enroll-request')]);
  t.equal(res.response, 'enrollrequest');

  const ekDer = Buffer.from(request.ekcert, 'hex');
  // The NV index dump is padded with 0xFF; the DER SEQUENCE header (30 82 LL LL) gives its length.
  const ek = new X509Certificate(ekDer.subarray(0, 4 + ekDer.readUInt16BE(2)));
  const blob = Buffer.from(res.credentialblob as string, 'hex');
  const id = unmarshalIdObject(blob);
  t.equal(id.integrityHmac.length, 32, 'integrityHMAC: SHA-256, the EK\'s nameAlg');
  t.equal(id.encIdentity.length, 2 + 32, 'encIdentity: the encrypted TPM2B_DIGEST of a 32-byte challenge');
  t.equal(blob.length, ibmAnswer.credentialblob.length / 2, 'the size IBM\'s server answers');
  const secret = unmarshalEncryptedSecret(Buffer.from(res.secret as string, 'hex'));
  t.equal(secret.length * 8, ek.publicKey.asymmetricKeyDetails?.modulusLength, 'secret: one RSA-OAEP block of the EK modulus size');
  t.equal(secret.length + 2, ibmAnswer.secret.length / 2, 'the size IBM\'s server answers');
  t.not(res.credentialblob, ibmAnswer.credentialblob, 'a fresh challenge, not a replay of IBM\'s');

  const row = await server.store.getMachine('client-rsa.test');
  t.equal(row?.tpmvendor, 'IBM ');
  t.equal(row?.ekFingerprint, spkiSha256(ek.publicKey));
  t.equal(row?.ekAlg, 'rsa2048');
  t.match(row?.challenge, /^[0-9a-f]{64}$/, 'a 32-byte challenge is pending');
  t.ok((row?.challengeExpires?.getTime() ?? 0) > Date.now(), 'and not yet expired');
  t.equal(row?.pendingAttestpub, request.akpub);
  t.equal(row?.pendingAkName, `000b${sha256(Buffer.from(request.akpub, 'hex'))}`);
  t.equal(row?.pendingAkAlg, 'rsa');
  t.equal(row?.enrolled, null, 'not enrolled until enrollcert');
  t.equal(row?.akcertificatepem, null);

  // IBM's enrollcert carries the challenge IBM's server chose, so ours refuses it.
  await refusedWithoutChange(t, server.store, '90000008', () => exchangeFrame('127.0.0.1', server.port, [readWireFrame('enrollcert-request')]));
});
