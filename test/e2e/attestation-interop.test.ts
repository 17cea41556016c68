/**
 * Interoperability of attestation with independent parties:
 * - quotes our client produced verify with tpm2_checkquote (tpm2-tools);
 * - IBM ACS's own full and incremental quotes (fixtures/acs-wire) verify in
 *   our server, fed as captured frames over TCP to a store seeded with the
 *   machine state IBM's enrollment implies;
 * - the requests our client sends carry the members, order, encodings and
 *   event values of IBM's frames for the same logs.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { extendLogs } from '../../client/extend.js';
import { publicKeyFromTpm } from '../../shared/crypto/keys.js';
import { unmarshalPublic } from '../../shared/tpm/public.js';
import { unmarshalAttest, quoteInfo } from '../../shared/tpm/attest.js';
import { type JsonObject } from '../../shared/protocol/frame.js';
import { exchange, exchangeFrame } from '../../client/exchange.js';
import { serializeRequest } from '../../shared/protocol/messages.js';
import type { AttestationRow } from '../../db/store.js';
import { startSwtpm } from '../helpers/swtpm.js';
import { startTestServer } from '../helpers/acs-server.js';
import { ACS_WIRE_DIR, readWireFrame, readWireJson } from '../helpers/acs-wire.js';
import { tpm2ToolsPcrs } from '../helpers/tpm2-tools.js';
import {
  AttestedHost, BIOS_LOG, IMA_KEY, IMA_LOG, expectedLog, framePayload, recordingProxy, refusalCode, scratchDir, type ExpectedImaLog,
} from '../helpers/attested-host.js';

const run = promisify(execFile);
const QUOTED_PCRS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

interface ExpectedPcrs {
  replayed_pcrs: { sha256: Record<string, string> };
  expected_pcr10: { per_bank_template_data_hash: { pcrs: { sha256: { '10': string } } } };
}

t.test('attestation interoperates with tpm2-tools and IBM ACS', async (t) => {
  const tpm = await startSwtpm({ t });
  const ibmRoots = await Promise.all(['ibm-sw-tpm-ek-ca-rsa.pem', 'ibm-sw-tpm-ek-ca-ecc.pem'].map((f) => readFile(join(ACS_WIRE_DIR, 'ekroots', f), 'utf8')));
  const server = await startTestServer(t, { trust: [tpm.caCertPem, tpm.intermediateCertPem, ...ibmRoots], imaKeyFiles: [IMA_KEY] });
  const proxy = await recordingProxy(t, server.port);
  const host = await AttestedHost.enroll(t, tpm, server, 'interop.test', proxy.port);
  const dir = await scratchDir(t);
  const ima = await expectedLog<ExpectedImaLog & ExpectedPcrs>('ima/acs_imasig.bin');
  const bios = await expectedLog<ExpectedPcrs>('bios/acs_tpm2bios.bin');
  const pcr10 = ima.expected_pcr10.per_bank_template_data_hash.pcrs.sha256['10'];

  await extendLogs({ tcti: tpm.tcti, biosLog: BIOS_LOG, imaLog: IMA_LOG });
  const via = { server: { host: '127.0.0.1', port: proxy.port } };
  t.match(await host.attest(via), { newBoot: true, imaEvents: ima.entries });
  const full = await host.lastAttestation();
  t.match(await host.attest(via), { newBoot: false, imaEvents: 0 });
  const incremental = await host.lastAttestation();
  const sent = proxy.frames.map(framePayload);
  const sentOf = (command: string) => sent.filter((m) => m.command === command);

  t.test('tpm2_checkquote verifies our quotes against the PCRs the server replayed', async (t) => {
    const akPem = publicKeyFromTpm(unmarshalPublic(Buffer.from((await host.machine())!.attestpub, 'hex'))).export({ type: 'spki', format: 'pem' });
    await writeFile(join(dir, 'ak.pem'), akPem);
    const quotes = sentOf('quote');
    t.equal(quotes.length, 2);
    const cases: { name: string; req: JsonObject; row: AttestationRow }[] = [
      { name: 'full', req: quotes[0]!, row: full },
      { name: 'incremental', req: quotes[1]!, row: incremental },
    ];
    for (const { name, req, row } of cases) {
      const files = { m: join(dir, `${name}.quoted`), s: join(dir, `${name}.sig`), f: join(dir, `${name}.pcrs`), bad: join(dir, `${name}.bad.pcrs`) };
      const selection = quoteInfo(unmarshalAttest(Buffer.from(req.quoted as string, 'hex')))!.pcrSelect;
      const values = QUOTED_PCRS.map((p) => Buffer.from(row.pcrs!.sha256[p]!, 'hex'));
      const altered = values.map((v, p) => (p === 7 ? Buffer.from(v.map((b) => b ^ 0xff)) : v));
      await writeFile(files.m, Buffer.from(req.quoted as string, 'hex'));
      await writeFile(files.s, Buffer.from(req.signature as string, 'hex'));
      await writeFile(files.f, tpm2ToolsPcrs(selection, values));
      await writeFile(files.bad, tpm2ToolsPcrs(selection, altered));
      const check = (pcrFile: string, nonce: string) =>
        run('tpm2_checkquote', ['-u', join(dir, 'ak.pem'), '-m', files.m, '-s', files.s, '-f', pcrFile, '-g', 'sha256', '-q', nonce]);
      await t.resolves(check(files.f, row.nonce), `${name} quote verifies with the issued nonce and replayed PCRs`);
      await t.rejects(check(files.bad, row.nonce), { message: /PCR values failed to match/ }, 'a changed PCR value fails');
      await t.rejects(check(files.f, 'ab'.repeat(32)), { message: /Error validating nonce/ }, 'another nonce fails');
    }
    t.equal(full.pcrs!.sha256[10], pcr10);
    t.equal(full.pcrs!.sha256[0], bios.replayed_pcrs.sha256['0']);
  });

  t.test('our requests have the members, order and encodings of IBM\'s frames', async (t) => {
    const ibm = (name: string) => readWireJson(`${name}.json`);
    const keys = (o: JsonObject) => Object.keys(o);
    for (const frame of proxy.frames) {
      t.equal(frame.readUInt32BE(0), frame.length - 4, 'length counts the payload');
      t.equal(frame.at(-1), 0, 'payload ends in one NUL, as IBM sends');
    }
    const [enrollReq] = sentOf('enrollrequest');
    t.same(keys(enrollReq!), keys(ibm('enroll-request')));
    t.equal(enrollReq!.tpmvendor, 'IBM ', 'TPM_PT_MANUFACTURER of swtpm, as IBM\'s simulator');
    const ours = unmarshalPublic(Buffer.from(enrollReq!.akpub as string, 'hex'));
    const theirs = unmarshalPublic(Buffer.from(ibm('enroll-request').akpub as string, 'hex'));
    t.match(ours, { type: theirs.type, nameAlg: theirs.nameAlg, parameters: theirs.parameters });
    t.equal((enrollReq!.akpub as string).length, (ibm('enroll-request').akpub as string).length, 'TPMT_PUBLIC without a TPM2B size');
    t.same(keys(sentOf('enrollcert')[0]!), keys(ibm('enrollcert-request')));
    t.match(sentOf('enrollcert')[0]!.challenge, /^[0-9a-f]{64}$/);
    for (const n of sentOf('nonce')) {
      t.same(keys(n), keys(ibm('nonce-request')));
      t.match(n, { hostname: host.hostname, userid: 'tester', boottime: /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/ });
    }

    const [ourFull, ourIncremental] = sentOf('quote');
    const ibmFull = ibm('quote-request-full');
    t.same(keys(ourFull!), keys(ibmFull), 'full quote: command, hostname, quoted, signature, event0..26, templatehashalg, imaevent0..1082');
    const events = keys(ibmFull).filter((k) => /^(ima)?event\d+$/.test(k));
    t.equal(events.length, 27 + ima.entries);
    t.same(events.filter((k) => ourFull![k] !== ibmFull[k]), [], 'every event and imaevent value equals IBM\'s for the same logs');
    t.equal(ourFull!.templatehashalg, ibmFull.templatehashalg);
    for (const [ours, theirs] of [[ourFull!, ibmFull], [ourIncremental!, ibm('quote-request-incremental')]]) {
      t.match(ours.quoted, /^ff5443478018[0-9a-f]+$/, 'quoted: TPMS_ATTEST without its TPM2B size');
      t.equal((ours.quoted as string).length, (theirs.quoted as string).length);
      t.match(ours.signature, /^0014000b0100[0-9a-f]{512}$/, 'signature: TPMT_SIGNATURE RSASSA-SHA256');
      t.equal((ours.signature as string).slice(0, 12), (theirs.signature as string).slice(0, 12));
    }
    t.same(keys(ourIncremental!), keys(ibm('quote-request-incremental')), 'no new events: command, hostname, quoted, signature, templatehashalg');
  });

  t.test('IBM\'s full and incremental quotes verify in our server', async (t) => {
    const reply = (name: string) => exchangeFrame('127.0.0.1', server.port, [readWireFrame(name.replace(/^errors\//, ''))]);
    t.same(Object.keys(await reply('enroll-request')), ['response', 'credentialblob', 'secret'], 'IBM\'s enrollrequest is accepted');

    // IBM's TPM would recover the challenge; the test reads it from the store and completes enrollment.
    const hostname = readWireJson('enroll-request.json').hostname as string;
    const pending = (await server.store.getMachine(hostname))!;
    const akcert = await exchange('127.0.0.1', server.port, serializeRequest({ command: 'enrollcert', hostname, challenge: Buffer.from(pending.challenge!, 'hex') }));
    t.match(akcert, { akcert: /^-----BEGIN CERTIFICATE-----/ });
    const machine = (await server.store.getMachine(hostname))!;
    t.equal(machine.attestpub, readWireJson('enroll-request.json').akpub, 'IBM\'s AK is enrolled');
    const now = new Date();
    const boottime = readWireJson('nonce-request.json').boottime as string;
    const issue = (name: string, newBoot: boolean, imaentry: number) => {
      const res = readWireJson(`${name}.json`);
      t.match(res, { biosentry: newBoot ? '0' : '-1', imaentry: String(imaentry) });
      return server.store.transaction((tx) =>
        tx.insertAttestation({
          machineId: machine.id, hostname, userid: 'unknown', boottime, timestamp: now,
          nonce: res.nonce as string, nonceExpires: new Date(now.getTime() + 60_000), pcrselect: res.pcrselect as string,
          biosentry: newBoot ? 0 : -1, imaentry, newBoot,
        }));
    };
    const rowOf = async (id: number) => (await server.store.getAttestation(id))!;

    const fullId = await issue('nonce-response', true, 0);
    t.same(await reply('quote-request-full'), readWireJson('quote-response.json'), 'full quote accepted');
    const fullRow = await rowOf(fullId);
    t.match(fullRow, { quoteverified: true, logverified: true, imaver: true, errorCode: null, logentries: 27, imaevents: ima.entries });
    for (let p = 0; p < 8; p++) t.equal(fullRow.pcrs!.sha256[p], bios.replayed_pcrs.sha256[p], `IBM PCR ${p} replayed`);
    t.equal(fullRow.pcrs!.sha256[10], pcr10, 'IBM PCR 10: per-bank SHA-256 replay');
    const quoted = unmarshalAttest(Buffer.from(readWireJson('quote-request-full.json').quoted as string, 'hex'));
    t.equal(quoteInfo(quoted)!.pcrDigest.toString('hex'), 'ff2b7f8f771b47d2f4a897932d0427453637b9671cd75e029b54df7049ef19d4');
    t.match(await server.store.getMachine(hostname), { imaevents: ima.entries, imapcr: pcr10, resetCount: quoted.clockInfo.resetCount, whitelist: fullRow.pcrs });

    const incrementalId = await issue('nonce-response-incremental', false, ima.entries);
    t.same(await reply('quote-request-incremental'), readWireJson('quote-response-incremental.json'), 'incremental quote accepted');
    t.match(await rowOf(incrementalId), { quoteverified: true, logverified: true, errorCode: null, imaevents: ima.entries, pcrinvalid: false, pcrschanged: false });
    t.equal((await rowOf(incrementalId)).pcrs!.sha256[10], pcr10);

    const before = await server.store.getMachine(hostname);
    t.equal(await refusalCode(reply('errors/quote-replay-nonce-used-request')), '9000001c', 'IBM\'s replayed quote: nonce already used');
    t.strictSame(await server.store.getMachine(hostname), before, 'the replay changed nothing');

    // IBM's TPM was reset but its client reported the same boot time: the quote's resetCount gives it away.
    const resetId = await issue('errors/tpm-reset-same-boottime-nonce-response', false, ima.entries);
    t.equal(await refusalCode(reply('errors/tpm-reset-same-boottime-quote-request')), '90000020', 'as IBM answers');
    t.match(await rowOf(resetId), { errorCode: '90000020', quoteverified: true, logverified: false });
    t.match(await server.store.getMachine(hostname), { imaevents: null, imapcr: null, whitelist: before!.whitelist });
    t.match(await reply('nonce-request'), { response: 'nonce', biosentry: '0', imaentry: '0' }, 'the next nonce asks for full logs');
  });
});
