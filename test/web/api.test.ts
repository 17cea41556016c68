/**
 * The JSON API over HTTP against seeded SQLite and MariaDB stores: field
 * values, filters, cursor paging, 404 for unknown hosts and ids, 400 for
 * malformed queries.
 */
import t from 'tap';
import { forEachSeededWeb } from '../helpers/seeded-web.js';
import { captureCertificates, HOSTS } from '../helpers/web-seed.js';
import { startTestWeb, type TestWeb } from '../helpers/web-server.js';

const enc = encodeURIComponent;

async function pagesOf(web: TestWeb, first: string): Promise<{ ids: number[]; pages: number }> {
  const ids: number[] = [];
  let pages = 0;
  let cursor: string | null = null;
  do {
    const res = await web.get(cursor === null ? first : `${first}&cursor=${enc(cursor)}`);
    if (res.status !== 200) throw new Error(`${first}: ${res.status}`);
    ids.push(...res.json.items.map((i: { id?: number; entrynum?: number }) => i.id ?? i.entrynum));
    cursor = res.json.next;
    pages += 1;
  } while (cursor !== null);
  return { ids, pages };
}

forEachSeededWeb(t, async (t, { store, fleet, web }) => {
  const { trusted, failing, offWhitelist, stale, xss } = fleet.machines;
  const [boot1, boot2] = fleet.boots;
  const desc = (ids: (number | undefined)[]) => (ids as number[]).slice().sort((a, b) => b - a);

  t.test('GET /api/machines', async (t) => {
    const res = await web.get('/api/machines');
    t.equal(res.status, 200);
    t.match(res.headers.get('content-type'), 'application/json');
    const byHost = Object.fromEntries(res.json.items.map((m: { hostname: string }) => [m.hostname, m]));
    t.same(Object.keys(byHost), Object.values(HOSTS).slice().sort());
    t.match(byHost[HOSTS.trusted], { state: 'trusted', tpmvendor: 'IBM ', ekAlg: 'rsa2048', akAlg: 'rsa', lastReport: { id: trusted.reports[2], outcome: 'pass' } });
    t.match(byHost[HOSTS.failing], { state: 'failing', lastReport: { id: failing.reports[1], outcome: 'fail', errorCode: '90000020', errorDescription: 'event logs do not reproduce the quoted PCR digest' } });
    t.match(byHost[HOSTS.offWhitelist], { state: 'failing', lastReport: { outcome: 'pcrinvalid', pcrinvalid: true, pcrschanged: true } });
    t.match(byHost[HOSTS.stale], { state: 'stale' });
    t.match(byHost[HOSTS.never], { state: 'never', lastReport: null, enrolled: String });
    t.same((await web.get('/api/machines?state=stale')).json.items.map((m: { hostname: string }) => m.hostname), [HOSTS.stale]);
    const strict = await startTestWeb(t, store, { staleAfterMs: 90 * 60_000 });
    const stateOf = async (host: string) => (await strict.get(`/api/machines/${enc(host)}`)).json.state;
    t.equal(await stateOf(HOSTS.trusted), 'stale', 'last report 2 hours ago is stale with a 90-minute limit');
    t.equal(await stateOf(HOSTS.offWhitelist), 'failing', 'failing stays failing');
    const bad = await web.get('/api/machines?state=asleep');
    t.equal(bad.status, 400);
    t.match(bad.json, { error: { status: 400, param: 'state' } });
  });

  t.test('GET /api/machines/:hostname', async (t) => {
    const res = await web.get(`/api/machines/${enc(HOSTS.trusted)}`);
    t.equal(res.status, 200);
    const m = res.json;
    const certs = captureCertificates();
    t.match(m.ekCertificate, { subject: "C=US, ST=NY, L=Yorktown, O=IBM, CN=IBM's SW TPM", publicKey: 'RSA 2048', pem: certs.ekPem, publicKeyFingerprint: certs.ekFingerprint });
    t.same(m.ekCertificate.extensions, [{ oid: '2.5.29.15', name: 'keyUsage', critical: true, value: 'keyEncipherment' }]);
    t.match(m.akCertificate, { subject: 'CN=client-rsa.test', issuer: 'C=US, ST=NY, L=Yorktown, O=IBM, CN=AK CA' });
    t.equal(m.whitelist.sha256.length, 24);
    t.match(m.whitelist.sha256[7], /^[0-9a-f]{64}$/);
    t.same(m.boots.map((b: { boottime: string; reports: number; biosAttestationId: number }) => [b.boottime, b.reports, b.biosAttestationId]),
      [[boot2, 1, trusted.reports[2]], [boot1, 2, trusted.reports[0]]]);
    t.same(m.imaBoots.map((b: { boot: string; events: number; problems: number }) => [b.boot, b.events]), [[boot2, 100], [boot1, 1083]]);
    t.equal(m.imaBoots[1].problems, 188, '184 unsigned, 2 unknown key, 1 bad signature, 1 bad template hash');
    t.same(m.recentReports.map((r: { id: number }) => r.id), desc(trusted.reports));
    const never = (await web.get(`/api/machines/${enc(HOSTS.never)}`)).json;
    t.match(never, { state: 'never', boots: [], imaBoots: [], recentReports: [], whitelist: null });
    const missing = await web.get('/api/machines/nobody.example');
    t.equal(missing.status, 404);
    t.match(missing.json, { error: { status: 404, message: /nobody\.example/ } });
  });

  t.test('GET /api/reports with filters and paging', async (t) => {
    const all = [...trusted.reports, ...failing.reports, ...offWhitelist.reports, ...stale.reports, ...xss.reports];
    const ids = async (q: string) => (await web.get(`/api/reports${q}`)).json.items.map((r: { id: number }) => r.id);
    t.same(await ids(''), desc(all));
    t.same(await ids('?failed=true'), desc([failing.reports[1], xss.reports[0]]));
    t.same(await ids('?failed=false&hostname=' + enc(HOSTS.xss)), [xss.reports[1]]);
    t.same(await ids('?pcrinvalid=true'), [offWhitelist.reports[1]]);
    t.same(await ids('?pcrschanged=true'), [offWhitelist.reports[1]]);
    t.same(await ids(`?hostname=${enc(HOSTS.failing)}`), desc(failing.reports));
    t.same(await ids('?latestPerHost=true'), desc([trusted, failing, offWhitelist, stale, xss].map((m) => m.reports.at(-1))));
    t.same(await ids('?latestPerHost=true&failed=true'), [failing.reports[1]], 'machines whose latest report failed');
    const paged = await pagesOf(web, '/api/reports?limit=3');
    t.same(paged.ids, desc(all), 'cursor pages cover every report once');
    t.equal(paged.pages, 4);
    const first = (await web.get('/api/reports?limit=3')).json;
    t.match(first.items[0], { url: `/reports/${first.items[0].id}`, api: `/api/reports/${first.items[0].id}`, timestamp: /Z$/, quoted: /Z$/ });
    for (const q of ['?failed=maybe', '?limit=501', '?limit=-1', '?cursor=zz', '?latestPerHost=yes', '?failed=true&failed=false']) {
      const res = await web.get(`/api/reports${q}`);
      t.equal(res.status, 400, q);
      t.equal(res.json.error.status, 400);
    }
    t.equal((await web.get('/api/reports?hostname=nobody')).status, 404);
  });

  t.test('GET /api/reports/:id', async (t) => {
    const refused = (await web.get(`/api/reports/${failing.reports[1]}`)).json;
    t.match(refused, { outcome: 'fail', errorCode: '90000020', previousReportId: failing.reports[0], machineState: 'failing', quote: { command: 'quote' } });
    const failedStep = refused.steps.find((s: { verdict: string }) => s.verdict === 'fail');
    t.match(failedStep, { name: 'Event logs replay to the quoted PCR digest', detail: /^90000020: event logs do not reproduce/ });
    const off = (await web.get(`/api/reports/${offWhitelist.reports[1]}`)).json;
    const diffs = off.pcrs.filter((p: { offWhitelist: boolean; changed: boolean }) => p.offWhitelist || p.changed);
    t.same(diffs.map((p: { bank: string; pcr: number }) => `${p.bank}:${p.pcr}`), ['sha256:7']);
    t.not(diffs[0].value, diffs[0].whitelist);
    t.equal(diffs[0].whitelist, diffs[0].previous);
    t.match(off.flags.find((f: { column: string }) => f.column === 'pcrinvalid'), { verdict: 'fail', text: 'mismatch' });
    t.equal((await web.get('/api/reports/424242')).status, 404);
    t.equal((await web.get('/api/reports/0')).status, 400);
    t.equal((await web.get(`/api/reports/${fleet.pendingReport}`)).json.outcome, 'pending', 'a nonce without a quote is shown as pending');
  });

  t.test('GET /api/machines/:hostname/bioslog', async (t) => {
    const path = `/api/machines/${enc(HOSTS.trusted)}/bioslog`;
    const res = (await web.get(path)).json;
    t.match(res, { hostname: HOSTS.trusted, boot: boot2, attestationId: trusted.reports[2], decodeError: null });
    t.equal(res.events.length, 99);
    t.match(res.events[4], { entrynum: 4, pcrindex: 7, eventtype: 'EV_EFI_VARIABLE_DRIVER_CONFIG', event: 'SecureBoot [EFI_GLOBAL_VARIABLE] = enabled' });
    t.match(res.events[4].digests, [{ alg: 'sha256', digest: /^[0-9a-f]{64}$/ }]);
    t.equal(res.secureBoot.secureBoot, 'enabled');
    t.same(res.secureBoot.variables.map((v: { name: string; entries: number | null }) => [v.name, v.entries]),
      [['SecureBoot', null], ['PK', 1], ['KEK', 3], ['db', 4], ['dbx', 371]]);
    t.equal(res.secureBoot.separators, 8);
    t.match(res.secureBoot.bootApplications[0], /shimx64\.efi/);
    t.equal((await web.get(`${path}?boot=${enc(boot1)}`)).json.attestationId, trusted.reports[0]);
    t.equal((await web.get(`${path}?attestation=${trusted.reports[1]}`)).json.attestationId, trusted.reports[0]);
    t.equal((await web.get(`${path}?boot=today`)).status, 400);
    t.equal((await web.get(`${path}?attestation=x`)).status, 400);
    t.equal((await web.get(`${path}?boot=none`)).status, 404);
    t.equal((await web.get(`/api/machines/nobody/bioslog`)).status, 404);
    const disabled = (await web.get(`/api/machines/${enc(HOSTS.failing)}/bioslog`)).json;
    t.equal(disabled.secureBoot.secureBoot, 'disabled');
  });

  t.test('GET /api/machines/:hostname/imalog', async (t) => {
    const path = `/api/machines/${enc(HOSTS.trusted)}/imalog`;
    const res = (await web.get(path)).json;
    t.match(res, { hostname: HOSTS.trusted, boot: boot2, next: null });
    t.equal(res.items.length, 100);
    t.match(res.items[0], { entrynum: 0, filename: 'boot_aggregate', template: 'ima-sig', filehash: /^sha1:/, nosig: true, raw: /^0000000a0004/ });
    const b1 = `${path}?boot=${enc(boot1)}`;
    const entries = async (q: string) => (await web.get(`${b1}${q}`)).json.items.map((e: { entrynum: number }) => e.entrynum);
    t.same(await entries('&status=badevent'), [1079]);
    t.same(await entries('&status=nokey'), [591, 1081]);
    t.same(await entries('&status=badsig'), [1082]);
    t.equal((await entries('&status=problem&limit=5000')).length, 188);
    t.equal((await entries('&status=ok&limit=5000')).length, 1083 - 188);
    t.same(await entries('&path=%2Fusr%2Fbin%2Fxaut'), [1079]);
    t.match((await web.get(`${b1}&path=trojan`)).json, { next: null, searchedThrough: null }, 'a search within one window ends there');
    const paged = await pagesOf(web, `${b1}&limit=500`);
    t.same(paged.ids, Array.from({ length: 1083 }, (_, i) => i));
    t.equal(paged.pages, 3);
    for (const q of ['?status=odd', '?limit=0', '?limit=5001', '?cursor=1', '?boot=1999']) t.equal((await web.get(`${path}${q}`)).status, 400, q);
    t.equal((await web.get(`${path}?boot=none`)).status, 404);
    t.same((await web.get(`/api/machines/${enc(HOSTS.stale)}/imalog`)).json, { hostname: HOSTS.stale, boot: null, boots: [], items: [], next: null, searchedThrough: null });
  });
});
