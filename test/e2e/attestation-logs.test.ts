/**
 * Attestation over TCP with a real swtpm, on MariaDB and on SQLite, through one host's
 * life: a full first attestation (rows checked against EXPECTED.json), one
 * with no new events, a reboot the server sees only in the quote, IMA events
 * sent incrementally, a log holding more events than the quote covers, and a
 * reboot the client reports.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { extendLogs } from '../../client/extend.js';
import { startSwtpm } from '../helpers/swtpm.js';
import { startTestServer } from '../helpers/acs-server.js';
import {
  AttestedHost, BIOS_LOG, IMA_KEY, IMA_LOG, expectedImaKeyId, expectedLog, scratchDir, writeImaLog, type ExpectedImaLog,
} from '../helpers/attested-host.js';

interface ExpectedFirmwareLog {
  events: { records_total: number; event_types: Record<string, number>; measurement_events_per_pcr: Record<string, number> };
  replayed_pcrs: { sha256: Record<string, string> };
}
interface ExpectedPcr10 {
  expected_pcr10: { per_bank_template_data_hash: { pcrs: { sha256: { '10': string } } } };
  pcr10_after_first_n_entries: Record<string, { sha256_per_bank: string }>;
}

const ZERO32 = '00'.repeat(32);
const CLI = fileURLToPath(new URL('../../client/cli.js', import.meta.url));

async function cli(...args: string[]): Promise<string> {
  return (await promisify(execFile)(process.execPath, [CLI, ...args])).stdout;
}

// The same life on both stores: MariaDB in production, the embedded SQLite default.
for (const db of ['mariadb', 'sqlite'] as const) t.test(`attestation over a host life on ${db}: full, incremental, partial, reboots`, async (t) => {
  const tpm = await startSwtpm({ t });
  const server = await startTestServer(t, { db, trust: [tpm.caCertPem, tpm.intermediateCertPem], imaKeyFiles: [IMA_KEY] });
  const host = await AttestedHost.enroll(t, tpm, server, 'life.test');
  const dir = await scratchDir(t);
  const ima = await expectedLog<ExpectedImaLog & ExpectedPcr10>('ima/acs_imasig.bin');
  const bios = await expectedLog<ExpectedFirmwareLog>('bios/acs_tpm2bios.bin');
  const fullPcr10 = ima.expected_pcr10.per_bank_template_data_hash.pcrs.sha256['10'];
  const first1000 = join(dir, 'ima-1000.bin');
  await writeImaLog(first1000, 1000);

  t.test('full: every log row, verdicts from EXPECTED.json, the white list', async (t) => {
    const extended = await extendLogs({ tcti: tpm.tcti, biosLog: BIOS_LOG, imaLog: IMA_LOG });
    t.same(extended, { firmwareEvents: 26, imaEvents: ima.entries });
    const r = await host.attest();
    t.match(r, { newBoot: true, retried: false, firmwareEvents: bios.events.records_total, imaEntry: 0, imaEvents: ima.entries });

    const a = await host.lastAttestation();
    t.match(a, {
      biosentry: 0, imaentry: 0, newBoot: true, quoteverified: true, logverified: true, imaver: true,
      imasigver: false, badimalog: true, pcrinvalid: false, pcrschanged: false, errorCode: null,
      logentries: bios.events.records_total, imaevents: ima.entries, userid: 'tester', boottime: host.bootTime,
    });
    const sha256 = a.pcrs!.sha256;
    for (let pcr = 0; pcr < 10; pcr++) t.equal(sha256[pcr], bios.replayed_pcrs.sha256[pcr] ?? ZERO32, `PCR ${pcr} replayed`);
    t.equal(sha256[10], fullPcr10, 'PCR 10 per-bank value of EXPECTED.json');
    t.ok(a.pcrs!.sha1.every((v) => v === null), 'no SHA-1 PCR was quoted');

    const m = (await host.machine())!;
    t.same(m.whitelist, a.pcrs, 'the first quote is the white list');
    t.match(m, { imaevents: ima.entries, imapcr: fullPcr10, boottime: host.bootTime });

    // IBM imalog verdicts, derived from EXPECTED.json for a server holding keys/imakey.der only.
    const rows = await host.imaRows(a.id);
    t.equal(rows.length, ima.entries);
    t.same(rows.map((r) => r.entrynum), [...Array(ima.entries).keys()], 'entries 0..1082 in order');
    const imakeyId = await expectedImaKeyId('keys/imakey.der');
    const otherKeys = Object.entries(ima.signatures.keyids).filter(([id]) => id !== imakeyId).reduce((n, [, c]) => n + c, 0);
    const counts = (flag: 'badevent' | 'nosig' | 'nokey' | 'badsig') => rows.filter((r) => r[flag]).map((r) => r.entrynum);
    t.same(counts('badevent'), ima.template_hash_check.mismatch_entry_indexes_0_based, 'badevent: the altered entry 1079');
    t.equal(counts('nosig').length, ima.unsigned_entries, 'nosig: every unsigned entry');
    t.equal(counts('nosig').length, ima.entries - ima.signatures.entries_with_signature);
    t.ok(counts('nosig').includes(1080), 'trojan_nosig');
    t.equal(counts('nokey').length, otherKeys, 'nokey: signatures by keys other than imakey.der');
    t.same(counts('nokey'), [591, 1081], 'atd and trojan_badkey');
    t.same(counts('badsig'), [1082], 'badsig: imakey.der signatures that do not verify');
    t.equal(counts('badsig').length, ima.signatures.keyids[imakeyId]! - ima.signatures.rsa_valid);
    t.equal(rows[1080]!.filename, '/usr/bin/trojan_nosig');
    t.equal(rows[0]!.filename, 'boot_aggregate');
    t.ok(rows.every((r) => r.template === 'ima-sig' && r.boottime === host.bootTime));

    const biosRows = await host.biosRows(a.id);
    t.equal(biosRows.length, bios.events.records_total);
    const types: Record<string, number> = {};
    for (const r of biosRows) types[r.eventtype] = (types[r.eventtype] ?? 0) + 1;
    t.same(types, bios.events.event_types, 'event type names');
    const perPcr: Record<string, number> = {};
    for (const r of biosRows.slice(1)) perPcr[r.pcrindex] = (perPcr[r.pcrindex] ?? 0) + 1;
    t.same(perPcr, bios.events.measurement_events_per_pcr);
    t.ok(biosRows.every((r) => /^[\x20-\x7e]*$/.test(r.event)), 'event data is printable');
    t.ok(biosRows.filter((r) => r.eventtype === 'EV_SEPARATOR').every((r) => r.event.includes('Skiboot Boot')));
    t.ok(biosRows.slice(1).every((r) => r.pcrsha256?.length === 64 && r.pcrsha1?.length === 40), 'both digests of every measurement');
  });

  t.test('no new events: biosentry -1, imaentry 1083, nothing sent, accepted', async (t) => {
    const before = (await host.machine())!;
    const r = await host.attest();
    t.match(r, { newBoot: false, retried: false, firmwareEvents: 0, imaEntry: ima.entries, imaEvents: 0 });
    const a = await host.lastAttestation();
    t.match(a, { biosentry: -1, imaentry: ima.entries, newBoot: false, quoteverified: true, logverified: true, errorCode: null, pcrschanged: false, pcrinvalid: false });
    t.same(await host.imaRows(a.id), []);
    t.match(await host.machine(), { imaevents: before.imaevents, imapcr: before.imapcr, whitelist: before.whitelist });
  });

  t.test('reboot with the same boottime: the quote reveals it, the client retries with full logs', async (t) => {
    const before = (await host.machine())!;
    await tpm.restart();
    await extendLogs({ tcti: tpm.tcti, biosLog: BIOS_LOG, imaLog: first1000 });
    host.imaLog = first1000;
    const r = await host.attest();
    t.match(r, { retried: true, newBoot: true, imaEntry: 0, imaEvents: 1000, firmwareEvents: bios.events.records_total });
    const [refused, full] = (await host.attestations()).slice(-2);
    t.match(refused, { biosentry: -1, imaentry: ima.entries, errorCode: '90000020', quoteverified: true, logverified: false });
    t.match(full, { biosentry: 0, imaentry: 0, newBoot: true, quoteverified: true, logverified: true, imaevents: 1000, errorCode: null });
    t.equal(full!.resetCount, before.resetCount! + 1, 'TPM2_Startup(CLEAR) after TPM_Init counts a reset');
    t.equal((await host.imaRows(full!.id)).length, 1000);
    t.match(await host.machine(), { imaevents: 1000, resetCount: before.resetCount! + 1, boottime: host.bootTime });
    t.equal(full!.pcrinvalid, false, 'same firmware log: still on the white list');
  });

  t.test('incremental through the CLI: only the events after the stored position are sent', async (t) => {
    const extend = await cli('extend', '--tpm', tpm.tcti, '--ima-log', IMA_LOG, '--ima-from', '1000');
    t.equal(extend.trim(), `extended 0 firmware events and ${ima.entries - 1000} IMA events`);
    host.imaLog = IMA_LOG;
    const out = await cli(
      'attest', '--server', `127.0.0.1:${server.port}`, '--tpm', tpm.tcti, '--state-dir', host.stateDir, '--userid', 'tester',
      '--boottime', host.bootTime, '--bios-log', BIOS_LOG, '--ima-log', IMA_LOG, '--verbose',
    );
    t.equal(out.trim(), `attested ${host.hostname}: ${ima.entries - 1000} IMA events from 1000`);
    const a = await host.lastAttestation();
    t.match(a, { biosentry: -1, imaentry: 1000, quoteverified: true, logverified: true, imaevents: ima.entries, errorCode: null });
    const rows = await host.imaRows(a.id);
    t.same(rows.map((x) => x.entrynum), [...Array(ima.entries - 1000).keys()].map((i) => 1000 + i));
    t.same(rows.filter((x) => x.badevent).map((x) => x.entrynum), [1079]);
    t.match(await host.machine(), { imaevents: ima.entries, imapcr: fullPcr10 });
    t.equal(a.pcrs!.sha256[10], fullPcr10);
    t.equal(a.pcrs!.sha256[0], bios.replayed_pcrs.sha256['0'], 'firmware PCRs carried over from the boot\'s full attestation');
  });

  t.test('new boottime and more events than quoted: the matching prefix is stored, the rest asked again', async (t) => {
    await tpm.restart();
    host.bootTime = '2026-11-26 08:30:00';
    await extendLogs({ tcti: tpm.tcti, biosLog: BIOS_LOG, imaLog: IMA_LOG, imaCount: 1079 });
    const r = await host.attest();
    t.match(r, { retried: false, newBoot: true, imaEntry: 0, imaEvents: ima.entries }, 'the client sent its whole log');
    let a = await host.lastAttestation();
    t.match(a, { biosentry: 0, imaentry: 0, newBoot: true, logverified: true, imaevents: 1079, boottime: host.bootTime });
    t.equal((await host.imaRows(a.id)).length, 1079, 'only the quoted prefix is stored');
    t.match(await host.machine(), { imaevents: 1079, imapcr: ima.pcr10_after_first_n_entries['1079']!.sha256_per_bank });

    await extendLogs({ tcti: tpm.tcti, imaLog: IMA_LOG, imaFrom: 1079 });
    const next = await host.attest();
    t.match(next, { newBoot: false, retried: false, imaEntry: 1079, imaEvents: ima.entries - 1079 });
    a = await host.lastAttestation();
    t.match(a, { biosentry: -1, imaentry: 1079, imaevents: ima.entries, logverified: true });
    t.same((await host.imaRows(a.id)).map((x) => x.entrynum), [1079, 1080, 1081, 1082]);
    t.match(await host.machine(), { imaevents: ima.entries, imapcr: fullPcr10, boottime: host.bootTime });
  });
});
