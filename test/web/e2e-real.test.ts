/**
 * The web UI after real attestations: two swtpm hosts enroll and attest over
 * TCP with the real client against a real acs-server on MariaDB — one that
 * goes through a full attestation (firmware log
 * and the first 1079 IMA entries), an incremental one (the last four entries)
 * and a refused one (an altered IMA event: 90000020), the other through one
 * full attestation. The protocol admits DNS host names only, so the first
 * host's rows are then renamed to a hostile hostname, as a server from
 * before that rule may have stored them. Chromium then reads every page; the values must be the
 * ones the logs and EXPECTED.json give, filters and paging must work by
 * clicking, and the JSON API must say what the pages show. Screenshots go to
 * test/output/screenshots/e2e-*.png.
 */
import t from 'tap';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { extendLogs } from '../../client/extend.js';
import { unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import { FIRMWARE_PCRS, IMA_PCR } from '../../shared/tpm/pcr-roles.js';
import { startTestServer } from '../helpers/acs-server.js';
import {
  AttestedHost, BIOS_LOG, IMA_KEY, IMA_LOG, expectedImaKeyId, expectedLog, imaWireEvents, refusalCode, scratchDir, writeImaLog,
  type ExpectedImaLog,
} from '../helpers/attested-host.js';
import { startSwtpm } from '../helpers/swtpm.js';
import { launchChromium, readMachinePages, screenshot, tableRows, watchedPage } from '../helpers/web-browser.js';
import { XSS_HOST } from '../helpers/web-seed.js';
import { machinePath, startTestWeb } from '../helpers/web-server.js';

interface ExpectedFirmwareLog {
  events: { records_total: number; event_types: Record<string, number> };
  replayed_pcrs: { sha256: Record<string, string> };
}
interface ExpectedPcr10 {
  expected_pcr10: { per_bank_template_data_hash: { pcrs: { sha256: { '10': string } } } };
  pcr10_after_first_n_entries: Record<string, { sha256_per_bank: string }>;
}

const NORMAL_HOST = 'web-e2e.example.com';
/** The name the hostile host enrolls and attests as, before its rows are renamed to XSS_HOST. */
const HOSTILE_DNS_NAME = 'hostile.example.com';
const FIRST = 1079;
const ZERO32 = '00'.repeat(32);
const IMA_PAGE = 200;

/** The text after a badge's aria-hidden symbol ("✓ trusted" → "trusted"). */
const badgeText = (s: string | undefined) => (s ?? '').replace(/^[✓✗!–]\s*/, '').trim();
const ids = (rows: string[][]) => rows.map((r) => Number(r[0]!.replace('#', '')));

const bios = await expectedLog<ExpectedFirmwareLog>('bios/acs_tpm2bios.bin');
const ima = await expectedLog<ExpectedImaLog & ExpectedPcr10>('ima/acs_imasig.bin');
const imakeyId = await expectedImaKeyId('keys/imakey.der');
/** EXPECTED.json's replayed firmware PCRs (PCRs the log never extends stay zero). */
const firmwarePcr = (pcr: number) => bios.replayed_pcrs.sha256[pcr] ?? ZERO32;

/** One report page as shown: its properties, verification steps, flags and PCR table. */
async function readReport(p: Page, baseUrl: string, id: number, shot: string) {
  await p.goto(`${baseUrl}/reports/${id}`);
  const list = p.locator('dl.props').first();
  const labels = await list.locator(':scope > dt').allInnerTexts();
  const values = await list.locator(':scope > dd').allInnerTexts();
  const props: Record<string, string> = Object.fromEntries(labels.map((l, i) => [l.trim(), (values[i] ?? '').trim()]));
  const steps = (await p.locator('#steps li').allInnerTexts()).map((s) => s.trim());
  const flags = await tableRows(p, '#flags');
  const pcrs = await tableRows(p, '#pcrs');
  await screenshot(p, shot);
  return { props, steps, flags, pcrs };
}

/** Every IMA entry of the shown boot, reached by clicking "Next page →". */
async function walkImaPages(p: Page): Promise<{ pages: number; rows: string[][] }> {
  const rows: string[][] = [];
  let pages = 0;
  for (;;) {
    rows.push(...(await tableRows(p, '#ima')));
    pages += 1;
    const next = p.getByRole('link', { name: 'Next page →' });
    if ((await next.count()) === 0) return { pages, rows };
    await next.click();
  }
}

t.test('real enroll, full, incremental and refused attestations (swtpm, MariaDB), read in Chromium', async (t) => {
  const [tpmHostile, tpmNormal] = await Promise.all([startSwtpm({ t }), startSwtpm({ t })]);
  const server = await startTestServer(t, {
    trust: [tpmHostile.caCertPem, tpmHostile.intermediateCertPem],
    imaKeyFiles: [IMA_KEY],
  });
  const dir = await scratchDir(t);

  // The hostile host: full attestation over the first 1079 IMA entries, then the remaining four incrementally.
  const hostile = await AttestedHost.enroll(t, tpmHostile, server, HOSTILE_DNS_NAME);
  hostile.imaLog = join(dir, `ima-${FIRST}.bin`);
  await writeImaLog(hostile.imaLog, FIRST);
  await extendLogs({ tcti: tpmHostile.tcti, biosLog: BIOS_LOG, imaLog: hostile.imaLog });
  t.match(await hostile.attest(), { newBoot: true, firmwareEvents: bios.events.records_total, imaEntry: 0, imaEvents: FIRST }, 'full attestation');
  const full = await hostile.lastAttestation();
  await extendLogs({ tcti: tpmHostile.tcti, imaLog: IMA_LOG, imaFrom: FIRST });
  hostile.imaLog = IMA_LOG;
  t.match(await hostile.attest(), { newBoot: false, firmwareEvents: 0, imaEntry: FIRST, imaEvents: ima.entries - FIRST }, 'incremental attestation');
  const incremental = await hostile.lastAttestation();

  // The normal host: one full attestation of both logs.
  const normal = await AttestedHost.enroll(t, tpmNormal, server, NORMAL_HOST);
  await extendLogs({ tcti: tpmNormal.tcti, biosLog: BIOS_LOG, imaLog: IMA_LOG });
  t.match(await normal.attest(), { newBoot: true, imaEvents: ima.entries }, 'normal host: full attestation');
  const normalReport = await normal.lastAttestation();

  // The hostile host's TPM measures three more entries; their quote carries the first one altered.
  const growing = join(dir, 'ima-growing.bin');
  await writeImaLog(growing, Infinity, 1);
  await extendLogs({ tcti: tpmHostile.tcti, imaLog: growing, imaFrom: ima.entries, imaCount: 3 });
  const nonce = await hostile.nonce();
  const events = await imaWireEvents(growing, nonce.imaentry, ima.entries + 3);
  events[0] = Buffer.from(events[0]!);
  events[0][events[0].length - 1]! ^= 0x01;
  const quote = await hostile.quote(nonce.nonce, unmarshalPcrSelection(nonce.pcrselect));
  t.equal(await refusalCode(hostile.send(hostile.request(quote, { ima: { from: nonce.imaentry, events } }))), '90000020', 'altered IMA event refused');
  const refused = await hostile.lastAttestation();
  t.match(refused, { errorCode: '90000020', quoteverified: true, logverified: false });
  t.ok(refused.errorMessage, 'the refusal says why');
  const driver = server.store.driver;
  for (const table of ['attestlog', 'bioslog', 'imalog']) {
    await driver.run(`UPDATE ${table} SET hostname = ? WHERE hostname = ?`, [XSS_HOST, HOSTILE_DNS_NAME]);
  }
  await driver.run('UPDATE machines SET hostname = ? WHERE hostname = ?', [XSS_HOST, HOSTILE_DNS_NAME]);

  const web = await startTestWeb(t, server.store);
  const browser = await launchChromium(t);
  const { page, dialogs } = await watchedPage(browser, web);
  t.teardown(() => page.close());
  const hostileApi = `/api/machines/${encodeURIComponent(XSS_HOST)}`;
  const apiOf = async (path: string) => {
    const res = await web.get(path);
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.text}`);
    return res.json;
  };

  t.test('every page of the hostile host, reached by clicking, with the values of the real attestations', async (t) => {
    const seen = await readMachinePages(page, web.url, XSS_HOST, 'e2e-hostile');
    t.same(seen.overview, { all: 2, trusted: 1, failing: 1, stale: 0, never: 0 }, 'overview: one trusted, one failing');
    t.equal(seen.machinesRow.Hostname, XSS_HOST, 'machines page: the hostname verbatim');
    t.equal(badgeText(seen.machinesRow.State), 'failing');
    t.equal(badgeText(seen.machinesRow.Result), 'failed');
    t.match(seen.machinesRow['Last report'], `#${refused.id}`);
    t.equal(seen.machine.title, XSS_HOST, 'machine page title: the hostname verbatim');
    t.equal(badgeText(seen.machine.props.State), 'failing');
    t.equal(seen.machine.props['Boot time (host-reported)'], hostile.bootTime);
    t.equal(seen.machine.akSubject?.includes(HOSTILE_DNS_NAME), true, 'the AK certificate names the DNS name the host enrolled as');
    t.same(seen.machine.timeline.map((r) => [r[0], badgeText(r[3])]), [
      [`#${refused.id}`, 'failed'], [`#${incremental.id}`, 'passed'], [`#${full.id}`, 'passed'],
    ], 'timeline: newest first with pass/fail badges');
    t.same(seen.machine.boots.map((b) => b.slice(0, 3)), [[hostile.bootTime, '3', '1']], 'boots: one boot, three reports, one refused');
    const detail = await apiOf(hostileApi);
    t.equal(detail.imaBoots[0].events, ima.entries);
    t.equal(seen.machine.boots[0]![6], `${ima.entries} entries ! ${detail.imaBoots[0].problems} with problems`, 'boots: the API\'s IMA counts');
    t.same([detail.state, detail.lastReport.id, detail.boots[0].reports, detail.boots[0].failed], ['failing', refused.id, 3, 1]);
    t.same(
      seen.machine.whitelist.filter((r) => r[0] === 'sha256').map((r) => [Number(r[1]), r[2]]),
      [...FIRMWARE_PCRS.map((p) => [p, firmwarePcr(p)]), [IMA_PCR, ima.pcr10_after_first_n_entries[String(FIRST)]!.sha256_per_bank]],
      'white list: the first verified quote',
    );
    t.same(seen.reports.rows.map((r) => [r[0], badgeText(r[4]).split(/\s+/)[0]]), [
      [`#${refused.id}`, 'failed'], [`#${incremental.id}`, 'passed'], [`#${full.id}`, 'passed'],
    ], 'reports page: pass/fail badges');
    t.match(seen.reports.rows[0]![4], '90000020', 'the refused report shows its code in the list');
    t.equal(seen.report?.title, `Report #${refused.id}`, 'the newest report is the refused one');
    t.equal(seen.firmware.events.length, bios.events.records_total, 'firmware log: every event');
    t.equal(seen.ima.entries.length, IMA_PAGE, 'IMA log: the first page');
    t.equal(seen.screenshots.length, 7);
    t.equal(await page.locator('img').count(), 0, 'no element from the hostname');
    t.same(dialogs, [], 'no dialog fired');
  });

  t.test('the refused report: its step, code and message; PCRs of the passing reports equal EXPECTED.json', async (t) => {
    const r = await readReport(page, web.url, refused.id, 'e2e-report-refused');
    t.equal(r.props.Machine, `${XSS_HOST} ✗ failing`, 'the hostname verbatim, then the machine state');
    t.equal(badgeText(r.props.Outcome), 'failed');
    t.match(r.props['Refused with'], '90000020');
    t.ok(r.props['Refused with']!.includes(refused.errorMessage!), 'the stored message');
    const failedStep = r.steps.find((s) => s.startsWith('✗'));
    t.match(failedStep, /Event logs replay to the quoted PCR digest: 90000020: /, 'the log replay step failed');
    t.ok(failedStep!.includes(refused.errorMessage!));
    t.same(r.flags.filter((f) => f[0] === 'quote').map((f) => badgeText(f[2])), ['pass'], 'the quote itself verified');
    t.same(r.flags.filter((f) => f[0] === 'firmware log').map((f) => badgeText(f[2])), ['fail']);
    const refusedApi = await apiOf(`/api/reports/${refused.id}`);
    t.match(refusedApi, { outcome: 'fail', errorCode: '90000020', errorMessage: refused.errorMessage, hostname: XSS_HOST });
    t.same(refusedApi.steps.map((s: { name: string; verdict: string }) => s.verdict), r.steps.map((s) => ({ '✓': 'pass', '✗': 'fail', '!': 'warn', '–': 'none' })[s[0]!]));

    const fullPage = await readReport(page, web.url, full.id, 'e2e-report-full');
    const incPage = await readReport(page, web.url, incremental.id, 'e2e-report-incremental');
    const pcr10 = { full: ima.pcr10_after_first_n_entries[String(FIRST)]!.sha256_per_bank, all: ima.expected_pcr10.per_bank_template_data_hash.pcrs.sha256['10'] };
    for (const [name, seen, p10] of [['full', fullPage, pcr10.full], ['incremental', incPage, pcr10.all]] as const) {
      t.equal(badgeText(seen.props.Outcome), 'passed', `${name}: passed`);
      const values = seen.pcrs.filter((row) => row[0] === 'sha256' && Number(row[1]) <= IMA_PCR).map((row) => [Number(row[1]), row[2]]);
      t.same(values, [...FIRMWARE_PCRS.map((p) => [p, firmwarePcr(p)]), [IMA_PCR, p10]], `${name}: PCR 0-10 as EXPECTED.json replays them`);
    }
    t.same(incPage.pcrs.filter((row) => row[5] !== '').map((row) => [row[1], row[5]]), [[String(IMA_PCR), '! changed since previous']],
      'only IMA\'s PCR changed; the firmware PCRs stay on the white list');
    t.same(incPage.flags.map((f) => [f[0], badgeText(f[2])]), [
      ['quote', 'pass'], ['firmware log', 'pass'], ['IMA log', 'pass'], ['IMA template hashes', 'bad'], ['IMA signatures', 'not all verified'],
      ['white list', 'pass'], ['PCRs vs previous', 'pass'],
    ], 'flags of the incremental report (it carried the altered entry 1079 and the badly signed 1082)');
    const incApi = await apiOf(`/api/reports/${incremental.id}`);
    t.same(
      incApi.pcrs.filter((p: { bank: string }) => p.bank === 'sha256').map((p: { pcr: number; value: string }) => [p.pcr, p.value]),
      incPage.pcrs.filter((row) => row[0] === 'sha256').map((row) => [Number(row[1]), row[2]]),
      'the API\'s PCR values are the page\'s',
    );
    t.equal(incApi.previousReportId, full.id);
    t.same(dialogs, []);
  });

  t.test('firmware log page: 27 events with their EV_ type names', async (t) => {
    await page.goto(`${web.url}${machinePath(XSS_HOST, '/bioslog')}`);
    const rows = await tableRows(page, '#events');
    await screenshot(page, 'e2e-firmware');
    t.equal(rows.length, bios.events.records_total);
    const types: Record<string, number> = {};
    for (const r of rows) types[r[2]!] = (types[r[2]!] ?? 0) + 1;
    t.same(types, bios.events.event_types, 'event type names and counts');
    t.same(rows.map((r) => Number(r[0])), [...Array(bios.events.records_total).keys()]);
    const api = await apiOf(`${hostileApi}/bioslog`);
    t.equal(api.attestationId, full.id, 'the log the full attestation carried');
    t.same(api.events.map((e: { entrynum: number; pcrindex: number; eventtype: string }) => [String(e.entrynum), String(e.pcrindex), e.eventtype]),
      rows.map((r) => r.slice(0, 3)), 'the API lists the events the page shows');
  });

  t.test('IMA log page: 1083 entries paged, status filters, path search', async (t) => {
    await page.goto(`${web.url}${machinePath(XSS_HOST, '/imalog')}`);
    t.same((await tableRows(page, '#ima-boots')).map((b) => b.slice(0, 2)), [[hostile.bootTime, String(ima.entries)]]);
    const walked = await walkImaPages(page);
    t.equal(walked.pages, Math.ceil(ima.entries / IMA_PAGE));
    t.same(walked.rows.map((r) => Number(r[0])), [...Array(ima.entries).keys()], 'entries 0..1082, each once, in order');
    await screenshot(page, 'e2e-ima-last-page');
    const api = await apiOf(`${hostileApi}/imalog?limit=5000`);
    t.same(api.items.map((e: { entrynum: number; filename: string }) => [String(e.entrynum), e.filename]), walked.rows.map((r) => r.slice(0, 2)),
      'the API lists the files the pages show');
    t.same(api.items.filter((e: { attestationId: number }) => e.attestationId === incremental.id).map((e: { entrynum: number }) => e.entrynum),
      [1079, 1080, 1081, 1082], 'the incremental attestation stored the last four');

    const otherKeys = Object.entries(ima.signatures.keyids).filter(([id]) => id !== imakeyId).reduce((n, [, c]) => n + c, 0);
    const filters = [
      ['template hash bad', 'badevent', ima.template_hash_check.mismatch_entry_indexes_0_based],
      ['unknown key', 'nokey', [591, 1081]],
      ['bad signature', 'badsig', [1082]],
      ['unsigned', 'nosig', null],
    ] as const;
    for (const [label, status, expected] of filters) {
      await page.getByLabel('Status').selectOption({ label });
      await page.getByRole('button', { name: 'Filter' }).click();
      const rows = (await walkImaPages(page)).rows;
      const entries = rows.map((r) => Number(r[0]));
      if (expected) t.same(entries, expected, `${status}: ${expected.join(', ')}`);
      else {
        t.equal(entries.length, ima.unsigned_entries, `${status}: every unsigned entry`);
        t.ok(entries.includes(1080), 'trojan_nosig is unsigned');
      }
      t.ok(rows.every((r) => r[4]!.includes(label)), `${status}: each row's badge says "${label}"`);
      await screenshot(page, `e2e-ima-${status}`);
      const json = await apiOf(`${hostileApi}/imalog?status=${status}&limit=5000`);
      t.same(json.items.map((e: { entrynum: number }) => e.entrynum), entries, `${status}: the API lists the same entries`);
    }
    t.equal(otherKeys, 2, 'EXPECTED.json: two signatures by keys other than imakey.der');

    await page.getByLabel('Status').selectOption('all');
    await page.getByLabel('Path contains').fill('trojan');
    await page.getByRole('button', { name: 'Filter' }).click();
    const trojans = await tableRows(page, '#ima');
    t.same(trojans.map((r) => [r[0], r[1], r[4]!.split('\n')[0]]), [
      ['1080', '/usr/bin/trojan_nosig', '! unsigned'], ['1081', '/usr/bin/trojan_badkey', '! unknown key'], ['1082', '/usr/bin/trojan_badsig', '✗ bad signature'],
    ]);
    await screenshot(page, 'e2e-ima-search');
    const json = await apiOf(`${hostileApi}/imalog?path=trojan`);
    t.same(json.items.map((e: { entrynum: number; filename: string }) => [String(e.entrynum), e.filename]), trojans.map((r) => r.slice(0, 2)));
    t.same(dialogs, []);
  });

  t.test('machines and reports: filters and paging by clicking; the API agrees', async (t) => {
    await page.goto(`${web.url}/machines`);
    const all = await tableRows(page, '#machines');
    const api = (await apiOf('/api/machines')).items as { hostname: string; state: string; lastReport: { id: number } | null }[];
    t.same(all.map((r) => [r[0], badgeText(r[6]), r[5]!.split(' ')[0]]), api.map((m) => [m.hostname, m.state, `#${m.lastReport?.id}`]),
      'hostnames, states and last reports as the API gives them');
    t.same(api.map((m) => [m.hostname, m.state]), [[XSS_HOST, 'failing'], [NORMAL_HOST, 'trusted']]);
    await page.getByLabel('State').selectOption('trusted');
    await page.getByRole('button', { name: 'Filter' }).click();
    t.same((await tableRows(page, '#machines')).map((r) => r[0]), [NORMAL_HOST]);
    await page.getByLabel('State').selectOption('');
    await page.getByLabel('Hostname contains').fill('DROP TABLE');
    await page.getByRole('button', { name: 'Filter' }).click();
    t.same((await tableRows(page, '#machines')).map((r) => r[0]), [XSS_HOST], 'search finds the hostile hostname as text');
    await screenshot(page, 'e2e-machines-search');

    await page.goto(`${web.url}/reports?limit=1`);
    const walked: string[][] = [];
    for (;;) {
      walked.push(...(await tableRows(page, '#reports')));
      const next = page.getByRole('link', { name: 'Next page →' });
      if ((await next.count()) === 0) break;
      await next.click();
    }
    const reports = (await apiOf('/api/reports?limit=500')).items as { id: number; hostname: string; outcome: string; errorCode: string | null }[];
    t.same(ids(walked), [refused.id, normalReport.id, incremental.id, full.id], 'one report per page, newest first, none twice');
    t.same(walked.map((r) => [Number(r[0]!.slice(1)), r[1], badgeText(r[4]).split(/\s+/)[0]]),
      reports.map((r) => [r.id, r.hostname, r.outcome === 'pass' ? 'passed' : 'failed']), 'the API lists the same reports and outcomes');
    await page.goto(`${web.url}/reports`);
    await page.getByLabel('Outcome').selectOption('failed');
    await page.getByRole('button', { name: 'Filter' }).click();
    const failed = await tableRows(page, '#reports');
    t.same(ids(failed), [refused.id], 'the failed filter: only the refused report');
    t.same((await apiOf('/api/reports?failed=true')).items.map((r: { id: number }) => r.id), ids(failed));
    await screenshot(page, 'e2e-reports-failed');

    const seen = await readMachinePages(page, web.url, NORMAL_HOST, 'e2e-normal');
    t.equal(badgeText(seen.machine.props.State), 'trusted');
    t.equal(seen.report?.title, `Report #${normalReport.id}`);
    t.same(
      seen.report!.pcrs.filter((row) => row[0] === 'sha256' && Number(row[1]) <= IMA_PCR).map((row) => row[2]),
      [...FIRMWARE_PCRS.map(firmwarePcr), ima.expected_pcr10.per_bank_template_data_hash.pcrs.sha256['10']],
      'the normal host\'s PCR 0-10 equal EXPECTED.json',
    );
    const detail = await apiOf(`/api/machines/${encodeURIComponent(NORMAL_HOST)}`);
    t.equal(detail.state, badgeText(seen.machine.props.State));
    t.equal(detail.akCertificate.subject, seen.machine.akSubject, 'AK subject as on the page');
    t.equal(detail.ekCertificate.subject, seen.machine.ekSubject, 'EK subject as on the page');
    t.same(detail.imaBoots.map((b: { events: number }) => `${b.events} entries`), seen.machine.boots.map((b) => b[6]!.split(' !')[0]));
    t.same(dialogs, []);
  });
});
