/**
 * Fleet search and compare views over real attestations: two swtpm hosts
 * enroll and attest over TCP against a real acs-server on MariaDB with
 * crafted logs whose files are known — alpha through two boots (the second
 * with one firmware event altered, a file changed and a file with a hostile
 * name added, then a refused quote whose file is kept as evidence), beta
 * through one. Every search must find exactly the
 * expected machines and entries, paging must hold while rows are inserted,
 * bad parameters must be 400s naming the parameter, the compare views must
 * list exactly the differing PCRs, firmware events and IMA files, and in
 * Chromium the search form and a compare page must work and keep the
 * hostile file name inert.
 */
import t from 'tap';
import { join } from 'node:path';
import { extendLogs } from '../../client/extend.js';
import { SqlStore } from '../../db/sql-store.js';
import type { ImaEventRow } from '../../db/store.js';
import { startTestServer } from '../helpers/acs-server.js';
import { unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import { AttestedHost, BIOS_LOG, expectedLog, imaWireEvents, refusalCode, scratchDir } from '../helpers/attested-host.js';
import { fileDigest, writeAlteredFirmwareLog, writeImaFiles, type MeasuredFile } from '../helpers/crafted-logs.js';
import { startSwtpm } from '../helpers/swtpm.js';
import { launchChromium, screenshot, tableRows, watchedPage } from '../helpers/web-browser.js';
import { machinePath, startTestWeb } from '../helpers/web-server.js';

const ALPHA = 'alpha.search.example';
const BETA = 'beta.search.example';
const BOOT1 = '2026-11-25 10:00:00';
const BOOT2 = '2026-11-27 09:00:00';
const XSS_PATH = `/tmp/<img src=x onerror=alert(1)>"'&<script>alert(2)</script>.sh`;
const ALTERED = 18;

const H = {
  sshd: fileDigest('sshd 9.2'),
  sshdBeta: fileDigest('sshd 9.2 patched'),
  bash: fileDigest('bash 5.2'),
  bash2: fileDigest('bash 5.2 trojaned'),
  cache: fileDigest('ld.so.cache'),
  foo: fileDigest('libfoo'),
  xss: fileDigest('hostile'),
  unknown: fileDigest('never measured'),
};
const ALPHA_BOOT1: MeasuredFile[] = [
  { path: '/usr/sbin/sshd', sha256: H.sshd },
  { path: '/usr/bin/bash', sha256: H.bash },
  { path: '/etc/ld.so.cache', sha256: H.cache },
];
const BETA_BOOT1: MeasuredFile[] = [
  { path: '/usr/sbin/sshd', sha256: H.sshdBeta },
  { path: '/usr/bin/bash', sha256: H.bash },
  { path: '/usr/lib/libfoo.so', sha256: H.foo },
];
const ALPHA_BOOT2: MeasuredFile[] = [
  { path: '/usr/sbin/sshd', sha256: H.sshd },
  { path: '/usr/bin/bash', sha256: H.bash2 },
  { path: '/etc/ld.so.cache', sha256: H.cache },
  { path: XSS_PATH, sha256: H.xss },
];

const OK_FILE: MeasuredFile = { path: '/opt/tool', sha256: fileDigest('tool') };
const EVIL_FILE: MeasuredFile = { path: '/opt/tool', sha256: fileDigest('tool, swapped') };

interface ExpectedFirmwareLog {
  replayed_pcrs: { sha256: Record<string, string> };
}
const bios = await expectedLog<ExpectedFirmwareLog>('bios/acs_tpm2bios.bin');

/** The text after a badge's aria-hidden symbol ("! changed" → "changed"). */
const badgeText = (s: string | undefined) => (s ?? '').replace(/^[✓✗!–]\s*/, '').trim();
/** An IMA item as [hostname, boottime, entrynum, filename]. */
const hits = (items: { hostname: string; boottime: string; entrynum: number; filename: string }[]) =>
  items.map((i) => [i.hostname, i.boottime, i.entrynum, i.filename]);

t.test('fleet search and compare over real attestations (swtpm, MariaDB)', async (t) => {
  const [tpmA, tpmB] = await Promise.all([startSwtpm({ t }), startSwtpm({ t })]);
  const server = await startTestServer(t, { trust: [tpmA.caCertPem, tpmA.intermediateCertPem] });
  const dir = await scratchDir(t);
  const logs = {
    a1: join(dir, 'alpha-1.ima'), b1: join(dir, 'beta-1.ima'), a2: join(dir, 'alpha-2.ima'), bios2: join(dir, 'alpha-2.bios'),
    a2ok: join(dir, 'alpha-2-ok.ima'), a2evil: join(dir, 'alpha-2-evil.ima'),
  };
  await Promise.all([writeImaFiles(logs.a1, ALPHA_BOOT1), writeImaFiles(logs.b1, BETA_BOOT1), writeImaFiles(logs.a2, ALPHA_BOOT2)]);
  const altered = await writeAlteredFirmwareLog(logs.bios2, ALTERED);

  const alpha = await AttestedHost.enroll(t, tpmA, server, ALPHA);
  const beta = await AttestedHost.enroll(t, tpmB, server, BETA);
  alpha.bootTime = BOOT1;
  beta.bootTime = BOOT1;
  await extendLogs({ tcti: tpmA.tcti, biosLog: BIOS_LOG, imaLog: logs.a1 });
  t.match(await alpha.attest({ imaLog: logs.a1 }), { newBoot: true, imaEvents: 3 }, 'alpha, boot 1');
  const alphaReport1 = await alpha.lastAttestation();
  await extendLogs({ tcti: tpmB.tcti, biosLog: BIOS_LOG, imaLog: logs.b1 });
  t.match(await beta.attest({ imaLog: logs.b1 }), { newBoot: true, imaEvents: 3 }, 'beta, boot 1');
  const betaReport = await beta.lastAttestation();
  // Everything stored from here on is "since" this instant.
  const between = new Date(Math.max(alphaReport1.quoted!.getTime(), betaReport.quoted!.getTime()) + 1);
  while (Date.now() <= between.getTime() + 1) await new Promise((r) => setTimeout(r, 2));

  await tpmA.restart();
  alpha.bootTime = BOOT2;
  await extendLogs({ tcti: tpmA.tcti, biosLog: logs.bios2, imaLog: logs.a2 });
  t.match(await alpha.attest({ imaLog: logs.a2, biosLog: logs.bios2 }), { newBoot: true, imaEvents: 4 }, 'alpha, boot 2');
  const alphaReport2 = await alpha.lastAttestation();
  t.match(alphaReport2, { errorCode: null, pcrinvalid: true }, 'boot 2 is accepted, off the white list');

  // Alpha's TPM measures one more file; the quote arrives with another file in its place: refused, kept as evidence.
  await Promise.all([writeImaFiles(logs.a2ok, [...ALPHA_BOOT2, OK_FILE]), writeImaFiles(logs.a2evil, [...ALPHA_BOOT2, EVIL_FILE])]);
  await extendLogs({ tcti: tpmA.tcti, imaLog: logs.a2ok, imaFrom: ALPHA_BOOT2.length });
  const nonce = await alpha.nonce();
  const quote = await alpha.quote(nonce.nonce, unmarshalPcrSelection(nonce.pcrselect));
  const evil = await imaWireEvents(logs.a2evil, nonce.imaentry, ALPHA_BOOT2.length + 1);
  t.equal(await refusalCode(alpha.send(alpha.request(quote, { ima: { from: nonce.imaentry, events: evil } }))), '90000020', 'the swapped file is refused');
  const refusedReport = await alpha.lastAttestation();

  const web = await startTestWeb(t, server.store);
  const api = async (path: string) => {
    const res = await web.get(path);
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.text}`);
    return res.json;
  };
  const ima = (q: string) => api(`/api/search/ima?${q}`);

  t.test('IMA searches find exactly the expected entries', async (t) => {
    let r = await ima(`hash=${H.sshd}`);
    t.same(hits(r.items), [[ALPHA, BOOT1, 0, '/usr/sbin/sshd'], [ALPHA, BOOT2, 0, '/usr/sbin/sshd']], 'bare hex digest');
    t.equal(r.machines, 1);
    t.equal(r.next, null);
    t.same(r.items.map((i: { filehash: string }) => i.filehash), [`sha256:${H.sshd}`, `sha256:${H.sshd}`]);
    t.same(r.items.map((i: { reportId: number }) => i.reportId), [alphaReport1.id, alphaReport2.id]);
    t.same(r.items.map((i: { refused: boolean }) => i.refused), [false, false]);
    t.same(r.items.map((i: { template: string }) => i.template), ['ima-ng', 'ima-ng']);
    for (const i of r.items) {
      t.equal(i.firstSeen, alphaReport1.quoted!.toISOString(), 'first seen: boot 1 report');
      t.equal(i.lastSeen, alphaReport2.quoted!.toISOString(), 'last seen: boot 2 report');
    }

    r = await ima(`hash=sha256:${H.bash}`);
    t.same(hits(r.items), [[ALPHA, BOOT1, 1, '/usr/bin/bash'], [BETA, BOOT1, 1, '/usr/bin/bash']], 'alg:hash');
    t.equal(r.machines, 2);
    t.same(hits((await ima(`hash=SHA256:${H.bash.toUpperCase()}`)).items), hits(r.items), 'case does not matter');
    t.same((await ima(`hash=sha1:${H.bash.slice(0, 40)}`)).items, [], 'another algorithm is another digest');

    r = await ima('path=/usr/sbin/sshd');
    t.same(hits(r.items), [[ALPHA, BOOT1, 0, '/usr/sbin/sshd'], [ALPHA, BOOT2, 0, '/usr/sbin/sshd'], [BETA, BOOT1, 0, '/usr/sbin/sshd']], 'exact path');
    t.equal(r.machines, 2);
    t.same((await ima('path=/usr/sbin/ssh')).items, [], 'path is exact, not a substring');

    r = await ima(`path=/usr/sbin/sshd&notHash=${H.sshd}`);
    t.same(hits(r.items), [[BETA, BOOT1, 0, '/usr/sbin/sshd']], 'path + notHash: the machine whose sshd differs');
    t.equal(r.machines, 1);
    t.equal(r.items[0].filehash, `sha256:${H.sshdBeta}`);

    r = await ima('pathPrefix=/usr/');
    t.same(hits(r.items), [
      [ALPHA, BOOT1, 0, '/usr/sbin/sshd'], [ALPHA, BOOT1, 1, '/usr/bin/bash'], [ALPHA, BOOT2, 0, '/usr/sbin/sshd'], [ALPHA, BOOT2, 1, '/usr/bin/bash'],
      [BETA, BOOT1, 0, '/usr/sbin/sshd'], [BETA, BOOT1, 1, '/usr/bin/bash'], [BETA, BOOT1, 2, '/usr/lib/libfoo.so'],
    ], 'pathPrefix');
    t.same(hits((await ima(`pathPrefix=/usr/&notHash=${H.bash}`)).items).map((h) => h[3]).sort(),
      ['/usr/bin/bash', '/usr/lib/libfoo.so', '/usr/sbin/sshd', '/usr/sbin/sshd', '/usr/sbin/sshd'], 'pathPrefix + notHash');

    t.same(await ima(`hash=${H.unknown}`), { items: [], next: null, machines: 0 }, 'unknown hash: nothing');
    r = await ima(`path=/opt/tool`);
    t.same(r.items.map((i: { entrynum: number; filehash: string; refused: boolean; reportId: number }) => [i.entrynum, i.filehash, i.refused, i.reportId]),
      [[4, `sha256:${EVIL_FILE.sha256}`, true, refusedReport.id]], 'the refused report\'s file is found, marked refused');
    t.same((await ima(`hash=${OK_FILE.sha256}`)).items, [], 'the file the TPM measured was never accepted');
    const evidence = await web.get(r.items[0].url.replace(/#.*/, ''));
    t.match(evidence.text, /<tr id="entry-4" data-entry="4">/, 'the refused item links its report\'s events');
    t.same(hits((await ima(`pathPrefix=/usr/&hostname=${BETA}`)).items).map((h) => h[0]), [BETA, BETA, BETA], 'hostname');
    t.same(await ima(`hash=${H.sshd}&hostname=nosuch.example`), { items: [], next: null, machines: 0 }, 'unknown hostname: nothing');
    t.same(hits((await ima(`pathPrefix=/&since=${between.toISOString()}`)).items), [...ALPHA_BOOT2, EVIL_FILE].map((f, i) => [ALPHA, BOOT2, i, f.path]), 'since');
    t.same(hits((await ima(`hash=${H.sshd}&until=${between.toISOString()}`)).items), [[ALPHA, BOOT1, 0, '/usr/sbin/sshd']], 'until');
  });

  t.test('each item links the exact IMA entry', async (t) => {
    const [item] = (await ima(`hash=${H.xss}`)).items;
    t.equal(item.filename, XSS_PATH);
    t.match(item.url, /#entry-3$/);
    const res = await web.get(item.url.replace(/#.*/, ''));
    t.equal(res.status, 200);
    t.match(res.text, /<tr id="entry-3" data-entry="3">/, 'the linked page starts at the entry');
    t.notMatch(res.text, /data-entry="2"/, 'and not before it');
    t.notMatch(res.text, /<img src=x/, 'the file name is escaped');
  });

  t.test('firmware searches', async (t) => {
    const fw = (q: string) => api(`/api/search/firmware?${q}`);
    const pcr0 = bios.replayed_pcrs.sha256['0']!;
    let r = await fw(`bank=sha256&pcr=0&value=${pcr0}`);
    t.same(r.items.map((i: { hostname: string; reportId: number; pcr: number; value: string; boottime: string }) => [i.hostname, i.reportId, i.boottime, i.pcr, i.value]),
      [[ALPHA, alphaReport2.id, BOOT2, 0, pcr0], [BETA, betaReport.id, BOOT1, 0, pcr0]], 'PCR 0 is the same on both latest boots');
    t.equal(r.machines, 2);
    r = await fw(`bank=sha256&pcr=4&value=${bios.replayed_pcrs.sha256['4']}`);
    t.same(r.items.map((i: { hostname: string }) => i.hostname), [BETA], 'PCR 4 of the sample log: only beta now (alpha booted the altered log last)');
    r = await fw(`pcr=4&value=${alphaReport2.pcrs!.sha256[4]}`);
    t.same(r.items.map((i: { hostname: string }) => i.hostname), [ALPHA], 'the altered PCR 4: alpha; the bank follows from the length');
    t.equal(r.items[0].value, alphaReport2.pcrs!.sha256[4]);
    t.same(await fw(`bank=sha256&pcr=0&value=${'ab'.repeat(32)}`), { items: [], next: null, machines: 0 }, 'unknown PCR value');

    r = await fw(`digest=${altered.before.sha256}`);
    t.same(r.items.map((i: { hostname: string; reportId: number; pcr: number; entrynum: number }) => [i.hostname, i.reportId, i.pcr, i.entrynum]),
      [[ALPHA, alphaReport1.id, 4, ALTERED], [BETA, betaReport.id, 4, ALTERED]], 'digest of the original event: both boots that logged it');
    t.equal(r.machines, 2);
    r = await fw(`digest=sha1:${altered.after.sha1}`);
    t.same(r.items.map((i: { hostname: string; reportId: number; entrynum: number; refused: boolean }) => [i.hostname, i.reportId, i.entrynum, i.refused]),
      [[ALPHA, alphaReport2.id, ALTERED, false]], 'sha1: digest of the altered event');
    const page = await web.get(r.items[0].url.replace(/#.*/, ''));
    t.match(page.text, new RegExp(`<tr id="event-${ALTERED}" data-entry="${ALTERED}">`), 'the link shows the event');
  });

  t.test('file history', async (t) => {
    const f = await api(`/api/files?hash=${H.bash}`);
    t.same(f.hashes, [`sha256:${H.bash}`, `sm3:${H.bash}`, `streebog256:${H.bash}`, `sha3-256:${H.bash}`]);
    t.equal(f.entries, 2);
    t.same(f.machines.map((m: { hostname: string; entries: number }) => [m.hostname, m.entries]), [[ALPHA, 1], [BETA, 1]]);
    t.equal(f.firstSeen, alphaReport1.quoted!.toISOString(), 'first seen anywhere');
    t.same(f.paths.map((p: { path: string; machines: number; entries: number }) => [p.path, p.machines, p.entries]), [['/usr/bin/bash', 2, 2]]);
    t.same(await api(`/api/files?hash=sha256:${H.unknown}`), { hashes: [`sha256:${H.unknown}`], entries: 0, firstSeen: null, lastSeen: null, machines: [], paths: [] });
  });

  t.test('bad parameters are 400s naming the parameter', async (t) => {
    const cases: [string, string][] = [
      ['/api/search/ima?hash=xyz', 'hash'],
      ['/api/search/ima?hash=abc', 'hash'],
      [`/api/search/ima?hash=sha256:${H.bash.slice(0, 40)}`, 'hash'],
      [`/api/search/ima?hash=whirl:${H.bash}`, 'hash'],
      [`/api/search/ima?hash=${'a'.repeat(30)}`, 'hash'],
      ['/api/search/ima', 'hash'],
      [`/api/search/ima?notHash=${H.bash}`, 'notHash'],
      [`/api/search/ima?hash=${H.bash}&notHash=${H.sshd}`, 'notHash'],
      ['/api/search/ima?path=/a&notHash=zz', 'notHash'],
      ['/api/search/ima?path=/a&pathPrefix=/b', 'pathPrefix'],
      ['/api/search/ima?path=/a&path=/b', 'path'],
      ['/api/search/ima?path=/a&limit=0', 'limit'],
      ['/api/search/ima?path=/a&cursor=x', 'cursor'],
      ['/api/search/ima?path=/a&since=yesterday', 'since'],
      ['/api/search/ima?path=/a&until=2030-02-31', 'until'],
      ['/api/search/firmware', 'value'],
      [`/api/search/firmware?bank=sha384&pcr=0&value=${'a'.repeat(96)}`, 'bank'],
      [`/api/search/firmware?value=${'a'.repeat(64)}`, 'pcr'],
      [`/api/search/firmware?pcr=24&value=${'a'.repeat(64)}`, 'pcr'],
      ['/api/search/firmware?pcr=0', 'value'],
      [`/api/search/firmware?bank=sha1&pcr=0&value=${'a'.repeat(64)}`, 'value'],
      [`/api/search/firmware?pcr=0&value=${'g'.repeat(64)}`, 'value'],
      [`/api/search/firmware?digest=md5:${'a'.repeat(32)}`, 'digest'],
      [`/api/search/firmware?bank=sha1&digest=sha256:${'a'.repeat(64)}`, 'digest'],
      [`/api/search/firmware?digest=${'a'.repeat(64)}&value=${'a'.repeat(64)}&pcr=1`, 'digest'],
      [`/api/search/firmware?digest=${'a'.repeat(64)}&cursor=1`, 'cursor'],
      ['/api/files', 'hash'],
      ['/api/files?hash=nothex', 'hash'],
    ];
    for (const [path, param] of cases) {
      const res = await web.get(path);
      t.equal(res.status, 400, path);
      t.equal(res.json?.error?.param, param, `${path} names ${param}`);
    }
    t.equal((await web.get('/search?hash=xyz')).status, 400, 'the page too');
    t.equal((await web.get(`/compare?a=${ALPHA}`)).status, 400, 'compare needs b');
    t.equal((await web.get(`/compare?a=${ALPHA}&b=nosuch.example`)).status, 404);
    t.equal((await web.get(`${machinePath(ALPHA, '/compare')}?boot=2020-01-01 00:00:00`)).status, 404, 'unknown boot');
    t.equal((await web.get(`${machinePath(ALPHA, '/compare')}?with=yesterday`)).status, 400, 'malformed boot');
    t.equal(web.requests.filter((r) => r.status >= 500).length, 0, 'never a 5xx');
  });

  t.test('paging is stable while entries are inserted', async (t) => {
    const before = (await ima('pathPrefix=/&limit=100')).items.map((i: { hostname: string; boottime: string; entrynum: number }) => `${i.hostname} ${i.boottime} ${i.entrynum}`);
    t.equal(before.length, 11);
    const [alphaRow, betaRow] = [(await alpha.machine())!, (await beta.machine())!];
    const extra = (m: typeof alphaRow, reportId: number, entrynum: number): ImaEventRow => ({
      machineId: m.id, attestationId: reportId, hostname: m.hostname, boottime: BOOT2, timestamp: new Date(), entrynum, imaEntry: '00',
      filename: `/var/inserted-${entrynum}`, template: 'ima-ng', filehash: `sha256:${fileDigest(`inserted ${entrynum}`)}`,
      badevent: false, nosig: true, nokey: false, badsig: false, refused: false,
    });
    const seen: string[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const r = await ima(`pathPrefix=/&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...r.items.map((i: { hostname: string; boottime: string; entrynum: number }) => `${i.hostname} ${i.boottime} ${i.entrynum}`));
      cursor = r.next;
      pages += 1;
      if (pages === 1) {
        // Between pages: a row for alpha (whose rows are being read) and one for beta (not reached yet).
        await server.store.transaction((tx) => tx.insertImaEvents([extra(alphaRow, alphaReport2.id, 100), extra(betaRow, betaReport.id, 101)]));
      }
    }
    t.same(seen.filter((s) => before.includes(s)), before, 'every entry there before: once, in order');
    t.equal(new Set(seen).size, seen.length, 'no entry twice');
    t.same(seen.filter((s) => !before.includes(s)), [`${ALPHA} ${BOOT2} 100`, `${BETA} ${BOOT2} 101`], 'rows inserted past the cursor are reached');
    await (server.store as SqlStore).driver.run("DELETE FROM imalog WHERE filename LIKE '/var/inserted-%'");
  });

  t.test('compare two boots of one machine: exactly the differences', async (t) => {
    const res = await web.get(`${machinePath(ALPHA, '/compare')}?boot=${encodeURIComponent(BOOT1)}&with=${encodeURIComponent(BOOT2)}`);
    t.equal(res.status, 200);
    const byDefault = await web.get(machinePath(ALPHA, '/compare'));
    t.equal(byDefault.text, res.text, 'by default: the boot before the newest, against the newest');
  });

  const browser = await launchChromium(t);
  const { page, dialogs } = await watchedPage(browser, web);
  t.teardown(() => page.close());

  t.test('Chromium: the compare page of alpha boot 1 against boot 2', async (t) => {
    await page.goto(`${web.url}${machinePath(ALPHA)}`);
    await page.getByRole('link', { name: 'Compare the last two boots' }).click();
    t.match(await page.locator('#side-a').innerText(), BOOT1);
    t.match(await page.locator('#side-b').innerText(), BOOT2);
    const pcrs = (await tableRows(page, '#pcr-diff')).map((r) => r.slice(0, 2).join(' ')).sort();
    t.same(pcrs, ['sha256 10', 'sha256 4'], 'of the quoted PCRs, 4 (the altered event) and 10 (IMA) differ, nothing else');
    const pcr4 = (await tableRows(page, '#pcr-diff')).find((r) => r[0] === 'sha256' && r[1] === '4')!;
    t.same(pcr4.slice(2), [alphaReport1.pcrs!.sha256[4], alphaReport2.pcrs!.sha256[4]]);
    const onlyA = await tableRows(page, '#firmware-only-a');
    const onlyB = await tableRows(page, '#firmware-only-b');
    t.same(onlyA.map((r) => [r[0], r[1], r[3], r[4]]), [[String(ALTERED), '4', altered.before.sha256, altered.before.sha1]], 'firmware: the original event only in A');
    t.same(onlyB.map((r) => [r[0], r[1], r[3], r[4]]), [[String(ALTERED), '4', altered.after.sha256, altered.after.sha1]], 'firmware: the altered event only in B');
    const changes = await tableRows(page, '#ima-changes');
    t.same(changes.map((r) => [r[0], r[1], r[2], badgeText(r[4])]), [
      ['1', '/usr/bin/bash', `sha256:${H.bash2}`, 'changed'],
      ['3', XSS_PATH, `sha256:${H.xss}`, 'new'],
    ], 'IMA: bash changed, the hostile file new; sshd and ld.so.cache unchanged');
    t.equal(await page.locator('main img, main script').count(), 0, 'the hostile file name made no element');
    await screenshot(page, 'search-compare-boots');
    await page.locator('#ima-changes a').last().click();
    t.match(page.url(), /#entry-3$/);
    t.same((await tableRows(page, '#ima'))[0]!.slice(0, 2), ['3', XSS_PATH], 'the change links its IMA entry');
  });

  t.test('Chromium: compare two machines (beta, then alpha)', async (t) => {
    await page.goto(`${web.url}/compare?a=${encodeURIComponent(BETA)}&b=${encodeURIComponent(ALPHA)}`);
    const changes = await tableRows(page, '#ima-changes');
    t.same(changes.map((r) => [r[0], r[1], badgeText(r[4])]), [
      ['0', '/usr/sbin/sshd', 'changed'], ['1', '/usr/bin/bash', 'changed'], ['2', '/etc/ld.so.cache', 'new'], ['3', XSS_PATH, 'new'],
    ]);
    t.same((await tableRows(page, '#firmware-only-a')).map((r) => r[3]), [altered.before.sha256]);
    t.same((await tableRows(page, '#firmware-only-b')).map((r) => r[3]), [altered.after.sha256]);
  });

  t.test('Chromium: the search form, results grouped by machine, linked to the entry', async (t) => {
    await page.goto(`${web.url}/`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Search', exact: true }).click();
    await page.getByLabel('File hash').fill(`sha256:${H.bash}`);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    t.equal(await page.locator('#ima-results .count').innerText(), '2 machines');
    const groups = await page.locator('section.machine-hits h3 a').allInnerTexts();
    t.same(groups, [ALPHA, BETA], 'one section per machine');
    await screenshot(page, 'search-hash');
    await page.locator('section.machine-hits').nth(1).locator('tbody a').first().click();
    t.match(page.url(), /imalog.*#entry-1$/);
    t.same((await tableRows(page, '#ima'))[0]!.slice(0, 2), ['1', '/usr/bin/bash']);

    await page.goto(`${web.url}/search`);
    await page.getByLabel('Path prefix').fill('/tmp/');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const rows = await tableRows(page, '#ima-results table');
    t.same(rows.map((r) => r[1]), [XSS_PATH], 'the hostile name shown as text');
    t.equal(await page.locator('main img, main script').count(), 0);

    await page.goto(`${web.url}/search`);
    await page.getByLabel('Firmware event digest').fill(altered.after.sha256);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    t.same((await tableRows(page, '#firmware-results table')).map((r) => r.slice(0, 2)), [[String(ALTERED), '4']], 'the altered event');
    t.equal(await page.locator('#firmware-results .count').innerText(), '1 machine');
    await screenshot(page, 'search-firmware');
    t.same(dialogs, [], 'no script ran');
  });
});
