/**
 * The software TPM the demo falls back to without swtpm, driven through the
 * same enroll(), extendLogs() and attest() as a TPM: a real acs-server
 * accepts its EK certificate (chained to its EK CA), its credential
 * activation and its quotes, full and incremental; tpm2_checkquote verifies
 * one of its quotes against EXPECTED.json's PCR values; it refuses foreign
 * key blobs and broken state with typed errors; and it says everywhere that
 * it is not a TPM.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { attest } from '../../client/attest.js';
import { openAttestationTpm } from '../../client/attestation-tpm.js';
import { EkCertificateError } from '../../client/ek.js';
import { enroll } from '../../client/enroll.js';
import { extendLogs } from '../../client/extend.js';
import { UnsupportedPcrError } from '../../client/simulator/pcr-banks.js';
import { SoftwareKeyBlobError } from '../../client/simulator/software-ak.js';
import { SOFTWARE_EK_CN, SoftwareEkCa } from '../../client/simulator/software-ek-ca.js';
import { provisionSoftwareTpm, SOFTWARE_TPM_STATE_FILE, SoftwareTpmStateError } from '../../client/simulator/software-tpm-dir.js';
import { publicKeyFromTpm } from '../../shared/crypto/keys.js';
import { CredentialError, makeCredential } from '../../shared/crypto/make-credential.js';
import { unmarshalAttest } from '../../shared/tpm/attest.js';
import { TPM_ALG, TPM_GENERATED_VALUE, TPM_ST } from '../../shared/tpm/constants.js';
import { ekTemplateForKey } from '../../shared/tpm/ek-templates.js';
import { unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import { unmarshalPublic } from '../../shared/tpm/public.js';
import { startTestServer } from '../helpers/acs-server.js';
import { BIOS_LOG, IMA_KEY, IMA_LOG, expectedLog, scratchDir, writeImaLog, type ExpectedImaLog } from '../helpers/attested-host.js';
import { tpm2ToolsPcrs } from '../helpers/tpm2-tools.js';

const run = promisify(execFile);
const HOST = 'software.demo.test';
/** Full attestation over this many IMA entries, then the rest incrementally. */
const FIRST = 1000;
// IBM ACS's selection: SHA-256 PCR 0-10 and an empty SHA-1 bank.
const IBM_SELECTION = unmarshalPcrSelection(Buffer.from('00000002000b03ff0700000403000000', 'hex'));

interface ExpectedPcrs {
  replayed_pcrs: { sha256: Record<string, string> };
  expected_pcr10: { per_bank_template_data_hash: { pcrs: { sha256: { '10': string } } } };
}
const bios = await expectedLog<ExpectedPcrs>('bios/acs_tpm2bios.bin');
const ima = await expectedLog<ExpectedImaLog & ExpectedPcrs>('ima/acs_imasig.bin');
/** PCR 0-10 after both logs: EXPECTED.json's replay, zeros where the firmware log measures nothing. */
const expectedPcrs = Array.from({ length: 11 }, (_, pcr) =>
  Buffer.from(pcr === 10 ? ima.expected_pcr10.per_bank_template_data_hash.pcrs.sha256['10'] : (bios.replayed_pcrs.sha256[pcr] ?? '00'.repeat(32)), 'hex'),
);

const dir = await scratchDir(t);
const ca = await SoftwareEkCa.create(join(dir, 'roots'));
const tpmDir = join(dir, 'tpm');
await provisionSoftwareTpm(tpmDir, { ca, label: HOST, ekAlg: 'ecc' });
const tcti = `software:${tpmDir}`;
const server = await startTestServer(t, { db: 'sqlite', trust: [ca.cert.toString()], imaKeyFiles: [IMA_KEY] });
const address = { host: '127.0.0.1', port: server.port };
const stateDir = join(dir, 'client');

t.test('enroll, then full and incremental attestation through the client code', async (t) => {
  const logged: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(line) });
  const enrolled = await enroll({ server: address, tcti, alg: 'rsa', hostname: HOST, stateDir, logger });
  t.match(enrolled, { hostname: HOST, ekTemplate: 'L-2', akReused: false });
  t.ok(logged.some((l) => JSON.parse(l).level === 40 && l.includes('software TPM (in-process, not a real TPM)')), 'the client warns it is no TPM');
  const machine = (await server.store.getMachine(HOST))!;
  t.ok(machine.enrolled, 'the server enrolled it');
  t.equal(machine.tpmvendor, 'DEMO', 'the web UI shows its manufacturer as DEMO');
  // Node writes the subject as RFC 4514 text, the comma escaped.
  const subject = new X509Certificate(machine.ekcertificatepem!).subject.replace(/\\,/g, ',');
  t.match(subject, `CN=${SOFTWARE_EK_CN}`, 'and its EK certificate says it is no TPM');

  const partial = join(dir, `ima-${FIRST}.bin`);
  await writeImaLog(partial, FIRST);
  t.same(await extendLogs({ tcti, biosLog: BIOS_LOG, imaLog: partial }), { firmwareEvents: 26, imaEvents: FIRST });
  const common = { server: address, tcti, stateDir, userid: 'tester', bootTime: '2026-11-25 10:00:00', biosLog: BIOS_LOG, imaHashAlg: 'sha1' as const };
  t.match(await attest({ ...common, imaLog: partial }), { newBoot: true, firmwareEvents: 27, imaEntry: 0, imaEvents: FIRST, retried: false }, 'full attestation');
  const full = (await server.store.getMachine(HOST))!;
  t.equal(full.imaevents, FIRST);
  t.equal(full.whitelist?.sha256[0], bios.replayed_pcrs.sha256['0'], 'the quoted PCR 0 is the firmware log\'s');

  // The PCR values were kept in the TPM's directory between the opens of extendLogs and attest.
  await extendLogs({ tcti, imaLog: IMA_LOG, imaFrom: FIRST });
  t.match(await attest({ ...common, imaLog: IMA_LOG }), { newBoot: false, firmwareEvents: 0, imaEntry: FIRST, imaEvents: ima.entries - FIRST }, 'incremental attestation');
  const after = (await server.store.getMachine(HOST))!;
  t.equal(after.imaevents, ima.entries);
  t.equal(after.imapcr, ima.expected_pcr10.per_bank_template_data_hash.pcrs.sha256['10'], 'PCR 10 is the one EXPECTED.json replays');
  t.equal(after.resetCount, 0);

  t.match(await enroll({ server: address, tcti, alg: 'rsa', hostname: HOST, stateDir }), { akReused: true }, 'enrolling again keeps the stored AK');
});

t.test('its quotes pass tpm2_checkquote against EXPECTED.json\'s PCRs', async (t) => {
  const tpm = await openAttestationTpm(tcti);
  t.teardown(() => tpm.close());
  t.equal(tpm.genuine, false);
  t.equal(await tpm.manufacturer(), 'DEMO');
  for (const alg of ['rsa', 'ecc'] as const) {
    const { blobs } = await tpm.ensureAk(alg);
    const nonce = randomBytes(32);
    const q = await tpm.quote(blobs, nonce, IBM_SELECTION);
    t.match(unmarshalAttest(q.quoted), { magic: TPM_GENERATED_VALUE, type: TPM_ST.ATTEST_QUOTE, extraData: nonce });
    t.equal(q.signature.readUInt16BE(0), alg === 'rsa' ? TPM_ALG.RSASSA : TPM_ALG.ECDSA, `${alg}: signed with the AK's scheme`);
    const f = { pub: join(dir, `ak-${alg}.pem`), msg: join(dir, `${alg}.quoted`), sig: join(dir, `${alg}.sig`), pcrs: join(dir, `${alg}.pcrs`), bad: join(dir, `${alg}.bad`) };
    await writeFile(f.pub, publicKeyFromTpm(unmarshalPublic(blobs.publicBytes)).export({ type: 'spki', format: 'pem' }));
    await writeFile(f.msg, q.quoted);
    await writeFile(f.sig, q.signature);
    await writeFile(f.pcrs, tpm2ToolsPcrs(IBM_SELECTION, expectedPcrs));
    await writeFile(f.bad, tpm2ToolsPcrs(IBM_SELECTION, expectedPcrs.map((v, pcr) => (pcr === 7 ? Buffer.alloc(32, 1) : v))));
    const check = (pcrs: string, n: Buffer) => run('tpm2_checkquote', ['-u', f.pub, '-m', f.msg, '-s', f.sig, '-f', pcrs, '-g', 'sha256', '-q', n.toString('hex')]);
    await t.resolves(check(f.pcrs, nonce), `${alg}: tpm2_checkquote accepts signature, nonce and PCR digest`);
    await t.rejects(check(f.pcrs, randomBytes(32)), { message: /Error validating nonce/ }, `${alg}: and refuses another nonce`);
    await t.rejects(check(f.bad, nonce), { message: /PCR values failed to match/ }, `${alg}: and other PCR values`);
  }
});

t.test('what it refuses, with typed errors', async (t) => {
  const tpm = await openAttestationTpm(tcti);
  t.teardown(() => tpm.close());
  const otherDir = join(dir, 'other-tpm');
  await provisionSoftwareTpm(otherDir, { ca, label: 'other', ekAlg: 'ecc' });
  const other = await openAttestationTpm(`software:${otherDir}`);
  const foreign = (await other.ensureAk('ecc')).blobs;
  await other.close();

  await t.rejects(tpm.quote(foreign, randomBytes(32), IBM_SELECTION), SoftwareKeyBlobError, 'another TPM\'s AK blobs do not load');
  t.equal((await tpm.ensureAk('ecc', foreign)).reused, false, 'and enrollment makes a new AK instead');
  const { blobs } = await tpm.ensureAk('ecc');
  const flipped = Buffer.from(blobs.privateBytes);
  flipped[flipped.length - 1] ^= 1;
  await t.rejects(tpm.quote({ ...blobs, privateBytes: flipped }, randomBytes(32), IBM_SELECTION), SoftwareKeyBlobError, 'altered blobs do not load');
  await t.rejects(tpm.quote(blobs, Buffer.alloc(67), IBM_SELECTION), { name: 'SoftwareTpmError' }, 'a nonce larger than TPM2B_DATA');

  const ek = await tpm.ekCertificate();
  await t.rejects(tpm.ekCertificate('rsa'), EkCertificateError, 'it has no RSA EK');
  const made = makeCredential({ key: ek.cert.publicKey, ...ekTemplateForKey(ek.cert.publicKey).ekClass }, randomBytes(34), randomBytes(32));
  await t.rejects(tpm.activateCredential(ek, blobs, made.credentialBlob, made.secret), CredentialError, 'a credential made for another AK name');

  await t.rejects(tpm.extend(24, [{ hashAlg: TPM_ALG.SHA256, digest: Buffer.alloc(32) }]), UnsupportedPcrError, 'PCR 24 does not exist');
  await t.rejects(tpm.extend(16, [{ hashAlg: TPM_ALG.SHA256, digest: Buffer.alloc(20) }]), RangeError, 'a digest of the wrong size');

  await t.rejects(provisionSoftwareTpm(tpmDir, { ca, label: 'again' }), SoftwareTpmStateError, 'a directory holding a TPM is not provisioned again');
  const broken = join(dir, 'broken');
  await provisionSoftwareTpm(broken, { ca, label: 'broken' });
  const state = JSON.parse(await readFile(join(broken, SOFTWARE_TPM_STATE_FILE), 'utf8'));
  await writeFile(join(broken, SOFTWARE_TPM_STATE_FILE), JSON.stringify({ ...state, pcrs: { sha1: [], sha256: [] } }));
  await t.rejects(openAttestationTpm(`software:${broken}`), SoftwareTpmStateError, 'PCR values missing');
  await writeFile(join(broken, SOFTWARE_TPM_STATE_FILE), JSON.stringify({ ...state, ekCertificate: ca.cert.raw.toString('base64') }));
  await t.rejects(openAttestationTpm(`software:${broken}`), { message: /not the EK's/ }, 'an EK certificate for another key');
  await writeFile(join(broken, SOFTWARE_TPM_STATE_FILE), Buffer.alloc(100_000, 0x20));
  await t.rejects(openAttestationTpm(`software:${broken}`), SoftwareTpmStateError, 'a state file of 100 kB is not read');
  await t.rejects(openAttestationTpm('software:'), SoftwareTpmStateError, 'software: needs a directory');
});

t.test('a new software:DIR is manufactured with an EK CA of its own', async (t) => {
  const fresh = join(dir, 'fresh');
  const tpm = await openAttestationTpm(`software:${fresh}`);
  t.teardown(() => tpm.close());
  const caFile = (tpm as { ekCaFile?: string }).ekCaFile;
  t.equal(caFile, join(fresh, 'software-tpm-ek-ca.pem'));
  const own = new X509Certificate(await readFile(caFile!));
  const ek = await tpm.ekCertificate();
  t.equal(ek.template.id, 'L-1', 'an RSA 2048 EK');
  t.ok(ek.cert.checkIssued(own) && ek.cert.verify(own.publicKey), 'its EK certificate chains to the CA written beside it');
  t.match(ek.cert.subject, `OU=fresh`);
});
