/**
 * Verdicts that explain themselves, end to end on swtpm and MariaDB: a
 * refused quote names its PCR and events, keeps its evidence apart from the
 * machine's accepted chain (readable through the report's API and pages),
 * and a forged quote changes nothing of the host. The bad quotes are built
 * from the client's own pieces (nonce exchange, TPM2_Quote with the
 * enrolled AK, QuoteRequestBuilder).
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { openAttestationTpm } from '../../client/attestation-tpm.js';
import { MAX_PENDING_NONCES } from '../../server/nonce.js';
import { decodeReportVerdict, type ReportVerdict } from '../../db/report-verdict.js';
import { iterateImaBinaryLog, type ImaEvent } from '../../shared/eventlog/ima/event.js';
import { encodeImaWireEvent } from '../../shared/eventlog/ima/wire.js';
import { EV } from '../../shared/eventlog/firmware/event-types.js';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import { unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import type { NonceResponse } from '../../shared/protocol/messages.js';
import { readFile } from 'node:fs/promises';
import { startSwtpm } from '../helpers/swtpm.js';
import { startTestServer } from '../helpers/acs-server.js';
import { startTestWeb, machinePath } from '../helpers/web-server.js';
import {
  AttestedHost, IMA_KEY, expectedLog, firmwareWireEvents, framePayload, refusalCode, scratchDir, type ExpectedImaLog,
} from '../helpers/attested-host.js';
import { GrowingImaLog } from '../helpers/growing-ima-log.js';

const FORGED = 20;

function flipped(b: Buffer, at: number): Buffer {
  const out = Buffer.from(b);
  out[at < 0 ? out.length + at : at]! ^= 0x01;
  return out;
}

/** An ima-sig entry whose file name was changed and whose template hash was recomputed to match: it looks sound. */
function rewritten(ev: ImaEvent): ImaEvent {
  const data = Buffer.from(ev.templateData);
  const nameAt = 4 + data.readUInt32LE(0) + 4;
  data[nameAt + 1] = 'X'.charCodeAt(0);
  return { ...ev, templateData: data, templateHash: createHash('sha1').update(data).digest() };
}

t.test('refusals name their PCR and events and keep their evidence; forgeries change nothing', async (t) => {
  const tpm = await startSwtpm({ t });
  const server = await startTestServer(t, { trust: [tpm.caCertPem, tpm.intermediateCertPem], imaKeyFiles: [IMA_KEY], keepRefused: 2 });
  const web = await startTestWeb(t, server.store);
  const host = await AttestedHost.enroll(t, tpm, server, 'verdicts.test');
  const growing = await GrowingImaLog.start(host, await scratchDir(t));
  const quoteFor = (n: NonceResponse) => host.quote(n.nonce, unmarshalPcrSelection(n.pcrselect));
  const report = async (nonce: Buffer) => (await host.attestations()).find((a) => a.nonce === nonce.toString('hex'))!;
  const verdictOf = async (nonce: Buffer): Promise<ReportVerdict> => decodeReportVerdict((await report(nonce)).verdict)!;
  const countRows = async (table: 'bioslog' | 'imalog', attestationId: number) =>
    Number((await server.store.driver.all(`SELECT COUNT(*) AS n FROM ${table} WHERE attestation_id = ?`, [attestationId]))[0]!.n);

  t.match(await host.attest(), { newBoot: true, imaEvents: 2 * 1083 }, 'baseline: a full attestation');
  const baseline = await host.lastAttestation();
  const whitelist = (await host.machine())!.whitelist!;

  await t.test('the sample log\'s bad entries are named on the accepted report', async (t) => {
    const expected = await expectedLog<ExpectedImaLog>('ima/acs_imasig.bin');
    const api = (await web.get(`/api/reports/${baseline.id}`)).json;
    t.equal(api.outcome, 'pass');
    const named = new Map<number, string>(api.diagnosis.imaEntries.map((e: { entrynum: number; reason: string }) => [e.entrynum, e.reason]));
    for (const i of expected.template_hash_check.mismatch_entry_indexes_0_based) {
      t.match(named.get(i), /template hash does not match its data/, `entry ${i}: its template hash (EXPECTED.json)`);
    }
    t.equal(named.get(1080), 'no signature', 'the unsigned trojan');
    t.equal(named.get(1081), 'signed by an unknown key', 'the trojan signed by another key');
    t.equal(named.get(1082), 'bad signature', 'the badly signed trojan');
    t.equal([...named.values()].filter((r) => r.includes('no signature')).length, expected.unsigned_entries, 'every unsigned entry');
    t.match(api.diagnosis.summary, /^Accepted, but \d+ IMA entries are flagged/);
    t.same(api.evidence, { firmwareEvents: baseline.logentries, imaEvents: 1083 });
    t.ok(api.checks.some((c: { name: string; result: string }) => c.name === 'template-hashes' && c.result === 'fail'));
  });

  let rewrittenId = 0;
  await t.test('an IMA log rewritten after entry N: refused, PCR 10 only, its events kept apart', async (t) => {
    await growing.grow(20);
    const before = (await host.machine())!;
    const n = await host.nonce();
    const N = n.imaentry + 10;
    const events: Buffer[] = [];
    for (const ev of iterateImaBinaryLog(await readFile(host.imaLog))) {
      if (ev.index >= growing.extended) break;
      if (ev.index >= n.imaentry) events.push(encodeImaWireEvent(ev.index > N ? rewritten(ev) : ev, 'sha1'));
    }
    t.equal(await refusalCode(host.send(host.request(await quoteFor(n), { ima: { from: n.imaentry, events } }))), '90000020');
    const r = await report(n.nonce);
    rewrittenId = r.id;
    const v = await verdictOf(n.nonce);
    t.same(v.diagnosis.pcrs.map((p) => [p.bank, p.pcr]), [['sha256', 10]], 'PCR 10 alone');
    t.match(v.diagnosis.summary, /IMA log does not reproduce PCR 10/);
    t.match(Object.fromEntries(v.checks.map((c) => [c.name, c.result])), { signature: 'pass', nonce: 'pass', 'firmware-replay': 'n/a', 'ima-replay': 'fail', whitelist: 'pass' });
    t.same(await host.machine(), before, 'the machine\'s accepted state is unchanged');

    const api = (await web.get(`/api/reports/${r.id}`)).json;
    t.same(api.evidence, { firmwareEvents: 0, imaEvents: 20 });
    t.same(api.diagnosis, v.diagnosis);
    const page1 = (await web.get(`/api/reports/${r.id}/events?log=ima&limit=15`)).json;
    const page2 = (await web.get(`/api/reports/${r.id}/events?log=ima&limit=15&cursor=${encodeURIComponent(page1.next)}`)).json;
    const items = [...page1.items, ...page2.items];
    t.same(items.map((e: { entrynum: number }) => e.entrynum), Array.from({ length: 20 }, (_, i) => n.imaentry + i), 'the refused events, in order');
    t.ok(items.every((e: { refused: boolean }) => e.refused), 'marked refused');
    t.equal(page2.next, null);
    const imaPage = await web.get(machinePath(host.hostname, `/imalog?attestation=${r.id}`));
    t.match(imaPage.text, `Entries stored with report`);
    t.match(imaPage.text, 'refused report&#39;s evidence');
    const boot = (await web.get(`/api/machines/${host.hostname}/imalog?limit=5000`)).json;
    t.notOk(boot.items.some((e: { refused: boolean }) => e.refused), 'the boot\'s IMA log is the accepted chain only');

    t.match(await host.attest(), { newBoot: false, imaEntry: before.imaevents }, 'then the true log is accepted from the same position');
    t.equal((await host.machine())!.imaevents, growing.extended);
  });

  let firmwareId = 0;
  await t.test('a new boot with a firmware event edited in the log only: refused, that PCR and that event named', async (t) => {
    const before = (await host.machine())!;
    const n = await host.nonce('2026-12-01 00:00:00');
    let edited = -1;
    const firmware = await firmwareWireEvents((log) => {
      const ev = log.events.filter((e) => e.pcrIndex === 7 && e.eventType !== EV.NO_ACTION).at(-1)!;
      edited = ev.index;
      ev.digests = ev.digests.map((d) => ({ ...d, digest: flipped(d.digest, 0) }));
    });
    t.equal(await refusalCode(host.send(host.request(await quoteFor(n), { firmware, ima: await growing.since(n) }))), '90000020');
    const r = await report(n.nonce);
    firmwareId = r.id;
    const v = await verdictOf(n.nonce);
    t.same(v.diagnosis.pcrs.map((p) => [p.bank, p.pcr, p.expected]), [['sha256', 7, whitelist.sha256[7]]], 'PCR 7, with its white-listed value');
    t.same(v.diagnosis.firmwareEvents.map((e) => e.entrynum), [edited], 'the edited event');
    t.match(v.diagnosis.firmwareEvents[0]!.reason, /digest differs from the last accepted boot/);
    t.same(await host.machine(), before, 'nothing of the machine changed');
    t.equal(await countRows('bioslog', r.id), firmware.length, 'the refused firmware log is kept');
    const page = await web.get(`/reports/${r.id}`);
    t.ok(page.text.indexOf('id="diagnosis"') < page.text.indexOf('id="checks"'), 'the report page shows the diagnosis first');
    t.match(page.text, `href="/machines/${host.hostname}/bioslog?attestation=${r.id}#event-${edited}"`, 'the named event links into the firmware view');
    const fw = await web.get(machinePath(host.hostname, `/bioslog?attestation=${r.id}`));
    t.match(fw.text, 'evidence of a refused report');
    t.match(fw.text, `id="event-${edited}"`);
    const accepted = (await web.get(`/api/machines/${host.hostname}/bioslog?attestation=${baseline.id}`)).json;
    t.equal(accepted.attestationId, baseline.id, 'the accepted boot\'s firmware log is still its own');
    const machine = await web.get(machinePath(host.hostname));
    t.match(machine.text, v.diagnosis.summary.replace(/'/g, '&#39;'), 'the machine timeline shows the one-line diagnosis');
  });

  await t.test(`${FORGED} forged quotes carrying issued nonces leave the host untouched`, async (t) => {
    await growing.grow(3);
    const issued: NonceResponse[] = [];
    for (let i = 0; i < FORGED; i++) issued.push(await host.nonce());
    const machineBefore = await host.machine();
    const reportsBefore = await host.attestations();
    for (const n of issued) {
      const q = await quoteFor(n);
      t.equal(await refusalCode(host.send(host.request({ ...q, signature: flipped(q.signature, -1) }, { ima: await growing.since(n) }))), '90000010');
    }
    t.same(await host.machine(), machineBefore, 'machine state unchanged');
    t.same(await host.attestations(), reportsBefore, 'no report added or changed; every nonce still pending');
    const events = await server.store.driver.all('SELECT kind, hostname, detail FROM security_events ORDER BY id');
    t.equal(events.length, FORGED, 'each is a security event');
    t.ok(events.every((e) => e.kind === 'forged_quote' && e.hostname === host.hostname));
    t.equal((await web.get('/api/security-events')).json.items.length, FORGED, 'visible through the API');
    t.equal([...(await web.get('/security-events')).text.matchAll(/<code>forged_quote<\/code>/g)].length, FORGED, 'and the security events page');
    const pending = reportsBefore.find((r) => r.nonce === issued[0]!.nonce.toString('hex'))!;
    t.equal((await web.get(`/api/reports/${pending.id}`)).json.nonce, null, 'a pending nonce is not shown by the API');
    t.notMatch((await web.get(`/reports/${pending.id}`)).text, pending.nonce, 'nor by the report page');
    const last = issued.at(-1)!;
    // With a member the protocol does not define: ignored, and never stored.
    const genuine = { ...framePayload(Buffer.concat(host.request(await quoteFor(last), { ima: await growing.since(last) }))), padding: 'x'.repeat(100_000) };
    t.same(await host.send(genuine), { response: 'quote' }, 'a forged nonce was not burned: the genuine quote is accepted');
    t.same(Object.keys(JSON.parse((await report(last.nonce)).quote!)).sort(), ['command', 'hostname', 'quoted', 'signature', 'templatehashalg'], 'only the members the protocol defines are stored');
    t.match(await host.attest(), { newBoot: false, retried: false }, 'and the next attestation is normal');
    t.match(await host.lastAttestation(), { errorCode: null, imaevents: growing.extended });

    for (let i = 0; i < MAX_PENDING_NONCES + 5; i++) await host.nonce();
    const stillPending = (await host.attestations()).filter((a) => a.quoted === null);
    t.equal(stillPending.length, MAX_PENDING_NONCES, 'pending nonces are capped per machine');
    t.notOk(stillPending.some((a) => a.nonce === issued[0]!.nonce.toString('hex')), 'a new nonce retired the oldest');
  });

  await t.test('--keep-refused keeps the newest refused reports\' evidence', async (t) => {
    const n = await host.nonce();
    await growing.grow(2);
    const ima = await growing.since(n);
    ima.events[0] = flipped(ima.events[0]!, -1);
    t.equal(await refusalCode(host.send(host.request(await quoteFor(n), { ima }))), '90000020');
    const third = await report(n.nonce);
    t.equal(await countRows('imalog', rewrittenId), 0, 'the oldest refused report\'s events are pruned');
    t.equal(await countRows('bioslog', firmwareId), 27, 'the newer one\'s are kept');
    t.equal(await countRows('imalog', third.id), ima.events.length);
    t.ok((await report(n.nonce)).diagnosis, 'pruning keeps the reports and their diagnoses');
    t.match((await web.get(`/api/reports/${rewrittenId}`)).json.evidence, { imaEvents: 0 });
    await host.attest();
  });

  await t.test('a new boot with really different firmware: accepted, off the white list, that PCR named', async (t) => {
    const digest = { sha1: randomBytes(20), sha256: randomBytes(32) };
    const tpmHandle = await openAttestationTpm(tpm.tcti);
    try {
      await tpmHandle.extend(4, [{ hashAlg: TPM_ALG.SHA1, digest: digest.sha1 }, { hashAlg: TPM_ALG.SHA256, digest: digest.sha256 }]);
    } finally {
      await tpmHandle.close();
    }
    let added = -1;
    const firmware = await firmwareWireEvents((log) => {
      const model = log.events.find((e) => e.pcrIndex === 4 && e.eventType !== EV.NO_ACTION)!;
      added = log.events.length;
      log.events.push({ ...model, index: added, digests: [{ alg: TPM_ALG.SHA1, digest: digest.sha1 }, { alg: TPM_ALG.SHA256, digest: digest.sha256 }] });
    });
    const n = await host.nonce('2026-12-02 00:00:00');
    t.same(await host.send(host.request(await quoteFor(n), { firmware, ima: await growing.since(n) })), { response: 'quote' });
    const r = await report(n.nonce);
    t.equal(r.pcrinvalid, true);
    const v = await verdictOf(n.nonce);
    t.same(v.diagnosis.pcrs.filter((p) => p.reason === 'differs from the white list').map((p) => [p.bank, p.pcr, p.expected, p.replayed]),
      [['sha256', 4, whitelist.sha256[4], r.pcrs!.sha256[4]]], 'PCR 4 with both values');
    t.same(v.diagnosis.firmwareEvents, [{ entrynum: added, reason: 'PCR 4: not in the last accepted boot\'s log' }], 'the new event named');
    t.match(v.diagnosis.summary, /^Accepted, but PCR 4 \(sha256\) differs from the white list/);
    const api = (await web.get(`/api/reports/${r.id}`)).json;
    t.equal(api.outcome, 'pcrinvalid');
    t.same(api.diagnosis.pcrs, v.diagnosis.pcrs);
  });
});
