/**
 * Every HTML page over HTTP, against a seeded SQLite and a seeded MariaDB
 * store: status codes, the values shown, filters, paging, 404 and 400.
 */
import t from 'tap';
import { forEachSeededWeb } from '../helpers/seeded-web.js';
import { captureCertificates, HOSTS } from '../helpers/web-seed.js';
import { machinePath } from '../helpers/web-server.js';

/** The values of one attribute in document order, e.g. data-id of report rows. */
function attrs(page: string, name: string): string[] {
  return [...page.matchAll(new RegExp(`${name}="([^"]*)"`, 'g'))].map((m) => m[1]!);
}

function hrefOf(page: string, rel: string): string | undefined {
  return new RegExp(`<a href="([^"]+)" rel="${rel}">`).exec(page)?.[1]?.replace(/&amp;/g, '&');
}

forEachSeededWeb(t, async (t, { fleet, web }) => {
  const { trusted, failing, offWhitelist, stale, xss } = fleet.machines;
  const [boot1, boot2] = fleet.boots;

  t.test('overview counts machines by state and lists the latest failures', async (t) => {
    const res = await web.get('/');
    t.equal(res.status, 200);
    t.match(res.headers.get('content-security-policy'), /default-src 'none'/);
    t.equal(res.headers.get('x-content-type-options'), 'nosniff');
    for (const [state, n] of [['all', 6], ['trusted', 2], ['failing', 2], ['stale', 1], ['never', 1]] as const) {
      t.match(res.text, new RegExp(`data-state="${state}"><span class="count">${n}</span>`), `${state}: ${n}`);
    }
    const failures = /<table id="failures">([\s\S]*?)<\/table>/.exec(res.text)![1]!;
    const ids = [...failures.matchAll(/href="\/reports\/(\d+)"/g)].map((m) => Number(m[1]));
    t.same(ids, [xss.reports[0], offWhitelist.reports[1], failing.reports[1]].sort((a, b) => b - a));
    t.match(failures, '90000020');
  });

  t.test('machines list: every machine with its last report, search, state filter, sorting', async (t) => {
    const res = await web.get('/machines');
    t.equal(res.status, 200);
    const hosts = attrs(res.text, 'data-hostname').map((h) => h.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'"));
    t.same(hosts, Object.values(HOSTS).slice().sort(), 'ordered by hostname');
    t.match(res.text, /rsa2048 \/ rsa/);
    t.match(res.text, `href="/reports/${failing.reports[1]}"`, "failing machine's last report is linked");
    const edge = await web.get('/machines?q=EDGE');
    t.same(attrs(edge.text, 'data-hostname'), [HOSTS.offWhitelist], 'search is case-insensitive');
    const failingOnly = await web.get('/machines?state=failing');
    t.same(attrs(failingOnly.text, 'data-hostname'), [HOSTS.failing, HOSTS.offWhitelist]);
    const byLast = await web.get('/machines?sort=last&dir=desc');
    t.same(attrs(byLast.text, 'data-hostname').slice(0, 3), [HOSTS.offWhitelist, HOSTS.failing, HOSTS.trusted], 'newest report first');
    t.equal(attrs(byLast.text, 'data-hostname').at(-1), HOSTS.never, 'never attested last');
    t.equal((await web.get('/machines?sort=bogus')).status, 400);
    t.equal((await web.get('/machines?state=sleeping')).status, 400);
  });

  t.test('machine page: certificates, white list, timeline, boots', async (t) => {
    const res = await web.get(machinePath(HOSTS.trusted));
    t.equal(res.status, 200);
    t.match(res.text, 'CN=IBM&#39;s SW TPM', 'EK subject');
    t.match(res.text, 'C=US, ST=NY, L=Yorktown, O=IBM, CN=EK CA', 'EK issuer');
    t.match(res.text, 'CN=client-rsa.test', 'AK subject');
    t.match(res.text, /keyUsage <span class="muted">2\.5\.29\.15<\/span><\/td><td>critical<\/td><td class="wrap">keyEncipherment/);
    t.match(res.text, 'RSA 2048');
    const certs = captureCertificates();
    t.match(res.text, certs.ekFingerprint, 'EK key fingerprint');
    const whitelist = /<table id="whitelist">([\s\S]*?)<\/table>/.exec(res.text)![1]!;
    t.equal([...whitelist.matchAll(/<tr><td>sha256/g)].length, 11, 'PCR 0-10 of the SHA-256 bank');
    const timeline = /<table id="timeline">([\s\S]*?)<\/table>/.exec(res.text)![1]!;
    t.same([...timeline.matchAll(/href="\/reports\/(\d+)"/g)].map((m) => Number(m[1])), trusted.reports.slice().reverse());
    const boots = /<table id="boots">([\s\S]*?)<\/table>/.exec(res.text)![1]!;
    t.match(boots, new RegExp(`${boot2}[\\s\\S]*100 entries[\\s\\S]*${boot1}[\\s\\S]*1083 entries`), 'both boots, newest first, with IMA counts');
    const pem = await web.get(machinePath(HOSTS.trusted, '/ek.pem'));
    t.equal(pem.status, 200);
    t.equal(pem.text, certs.ekPem);
    t.match(pem.headers.get('content-disposition'), /attachment; filename="web-01.example.com-ek.pem"/);
    const ak = await web.get(machinePath(HOSTS.trusted, '/ak.pem'));
    t.equal(ak.text, certs.akPem);
    const pending = await web.get(machinePath(HOSTS.never));
    t.match(pending.text, 'never attested');
    t.equal((await web.get(machinePath('no-such-host.example'))).status, 404);
    t.equal((await web.get(machinePath('no-such-host.example', '/ek.pem'))).status, 404);
  });

  t.test('reports: newest first, filters, cursor paging', async (t) => {
    const all = await web.get('/reports');
    t.equal(all.status, 200);
    const quoted = [...trusted.reports, ...failing.reports, ...offWhitelist.reports, ...stale.reports, ...xss.reports].sort((a, b) => b - a);
    t.same(attrs(all.text, 'data-id').map(Number), quoted, 'every report with a quote, none pending');
    t.notOk(attrs(all.text, 'data-id').includes(String(fleet.pendingReport)));
    const failed = await web.get('/reports?outcome=failed');
    t.same(attrs(failed.text, 'data-id').map(Number), [xss.reports[0], failing.reports[1]].sort((a, b) => b - a));
    t.match(failed.text, /✗ <\/span>failed/);
    t.same(attrs((await web.get('/reports?outcome=pcrinvalid')).text, 'data-id').map(Number), [offWhitelist.reports[1]]);
    t.same(attrs((await web.get('/reports?outcome=pcrschanged')).text, 'data-id').map(Number), [offWhitelist.reports[1]]);
    t.same(attrs((await web.get(`/reports?hostname=${HOSTS.trusted}`)).text, 'data-id').map(Number), trusted.reports.slice().reverse());
    const latest = await web.get('/reports?latestPerHost=true');
    t.same(attrs(latest.text, 'data-id').map(Number), [trusted, failing, offWhitelist, stale, xss].map((m) => m.reports.at(-1)!).sort((a, b) => b - a));

    const seen: number[] = [];
    let next: string | undefined = '/reports?limit=4';
    while (next) {
      const page = await web.get(next);
      t.equal(page.status, 200);
      seen.push(...attrs(page.text, 'data-id').map(Number));
      next = hrefOf(page.text, 'next');
    }
    t.same(seen, quoted, 'pages of 4 cover every report once, in order');
    t.equal((await web.get('/reports?hostname=nobody')).status, 404);
    t.equal((await web.get('/reports?outcome=great')).status, 400);
    t.equal((await web.get('/reports?cursor=abc')).status, 400);
    t.equal((await web.get('/reports?limit=0')).status, 400);
  });

  t.test('report page: refusal reason, steps, PCR differences, quote download', async (t) => {
    const refused = await web.get(`/reports/${failing.reports[1]}`);
    t.equal(refused.status, 200);
    t.match(refused.text, '<code>90000020</code> event logs do not reproduce the quoted PCR digest');
    t.match(refused.text, /data-verdict="fail">[^\n]*Event logs replay to the quoted PCR digest<\/strong>: 90000020/);
    t.match(refused.text, `Previous report</dt><dd><a href="/reports/${failing.reports[0]}">`);

    const off = await web.get(`/reports/${offWhitelist.reports[1]}`);
    t.match(off.text, /<tr class="diff" data-pcr="sha256:7">[\s\S]*?differs from white list[\s\S]*?changed since previous<\/span><\/td><\/tr>/);
    t.equal([...off.text.matchAll(/<tr class="diff"/g)].length, 1, 'only PCR 7 differs');
    t.match(off.text, /white list<\/td><td><code>pcrinvalid<\/code><\/td><td><span class="badge fail"><span aria-hidden="true">✗ <\/span>mismatch/);

    const quote = await web.get(`/reports/${offWhitelist.reports[1]}/quote.json`);
    t.equal(quote.status, 200);
    t.match(quote.headers.get('content-disposition'), `report-${offWhitelist.reports[1]}-quote.json`);
    t.equal(quote.json.hostname, HOSTS.offWhitelist);
    t.match(quote.json.quoted, /^ff544347/);
    t.equal((await web.get(`/reports/${fleet.pendingReport}/quote.json`)).status, 404);
    t.equal((await web.get('/reports/999999')).status, 404);
    t.equal((await web.get('/reports/abc')).status, 400);
  });

  t.test('firmware log: events, Secure Boot summary, selection by boot and report', async (t) => {
    const res = await web.get(machinePath(HOSTS.trusted, '/bioslog'));
    t.equal(res.status, 200);
    t.match(res.text, `log sent with report <a href="/reports/${trusted.reports[2]}">`, 'newest log by default');
    t.equal(attrs(res.text, 'data-entry').length, 99);
    t.match(res.text, /Secure Boot: <span class="badge pass"><span aria-hidden="true">✓ <\/span>enabled/);
    for (const [name, n] of [['PK', 1], ['KEK', 3], ['db', 4], ['dbx', 371]] as const) {
      t.match(res.text, new RegExp(`<tr><td>${name}</td><td class="num">${n}</td>`), `${name} has ${n} entries`);
    }
    t.match(res.text, 'Boot0001 [EFI_GLOBAL_VARIABLE] = &quot;Red Hat Enterprise Linux&quot; HD(1,GPT,');
    t.match(res.text, '\\EFI\\redhat\\shimx64.efi');
    t.match(res.text, 'Calling EFI Application from Boot Option');
    t.match(res.text, /<td class="num">9<\/td><td class="num">7<\/td><td>EV_SEPARATOR<\/td>/);
    t.match(res.text, /sha256: <code class="hash">[0-9a-f]{64}<\/code>/);
    t.match(res.text, /<details><summary>raw<\/summary><code class="hash">00000000000000030000/, 'raw wire hex on demand');
    const first = await web.get(`${machinePath(HOSTS.trusted, '/bioslog')}?boot=${encodeURIComponent(boot1)}`);
    t.match(first.text, `log sent with report <a href="/reports/${trusted.reports[0]}">`);
    const incremental = await web.get(`${machinePath(HOSTS.trusted, '/bioslog')}?attestation=${trusted.reports[1]}`);
    t.match(incremental.text, `log sent with report <a href="/reports/${trusted.reports[0]}">`, 'a report without a log shows the log it was checked against');
    const off = await web.get(machinePath(HOSTS.failing, '/bioslog'));
    t.match(off.text, /Secure Boot: <span class="badge fail"><span aria-hidden="true">✗ <\/span>disabled/);
    t.match(off.text, /<tr><td>dbx<\/td><td class="num">186<\/td>/);
    t.match((await web.get(machinePath(HOSTS.stale, '/bioslog'))).text, 'no firmware events stored');
    t.equal((await web.get(`${machinePath(HOSTS.trusted, '/bioslog')}?boot=yesterday`)).status, 400);
    t.equal((await web.get(`${machinePath(HOSTS.trusted, '/bioslog')}?boot=2000-01-01%2000:00:00`)).status, 404);
    t.equal((await web.get(`${machinePath(HOSTS.trusted, '/bioslog')}?attestation=${failing.reports[0]}`)).status, 404, "another machine's report");
  });

  t.test('IMA log: boots, status filters, path search, cursor paging', async (t) => {
    const ima = machinePath(HOSTS.trusted, '/imalog');
    const newest = await web.get(ima);
    t.equal(newest.status, 200);
    t.same(attrs(newest.text, 'data-entry').map(Number), Array.from({ length: 100 }, (_, i) => i), 'newest boot, all 100 entries');
    t.match(newest.text, 'End of list');
    const b1 = `${ima}?boot=${encodeURIComponent(boot1)}`;
    const only = async (status: string) => attrs((await web.get(`${b1}&status=${status}`)).text, 'data-entry').map(Number);
    t.same(await only('badevent'), [1079], 'template hash mismatch');
    t.same(await only('badsig'), [1082], 'bad signature');
    t.same(await only('nokey'), [591, 1081], 'unknown key');
    t.equal((await only('nosig')).length, 184, 'unsigned');
    const bad = await web.get(`${b1}&status=badevent`);
    t.match(bad.text, /\/usr\/bin\/xautt<\/td><td>ima-sig<\/td>[\s\S]*?template hash bad/);
    t.same(attrs((await web.get(`${b1}&path=trojan`)).text, 'data-entry').map(Number), [1080, 1081, 1082]);

    const seen: number[] = [];
    let next: string | undefined = b1;
    let pages = 0;
    while (next) {
      const page = await web.get(next);
      seen.push(...attrs(page.text, 'data-entry').map(Number));
      next = hrefOf(page.text, 'next');
      pages += 1;
    }
    t.equal(pages, 6, '1083 entries in pages of 200');
    t.same(seen, Array.from({ length: 1083 }, (_, i) => i), 'every entry once, in order');
    t.equal((await web.get(`${ima}?status=weird`)).status, 400);
    t.equal((await web.get(`${ima}?cursor=x`)).status, 400);
    t.equal((await web.get(`${ima}?boot=2000-01-01%2000:00:00`)).status, 404);
    t.match((await web.get(machinePath(HOSTS.stale, '/imalog'))).text, 'no IMA entries stored');
    t.equal((await web.get(machinePath('nobody', '/imalog'))).status, 404);
  });

  t.test('unknown paths and methods', async (t) => {
    t.equal((await web.get('/nope')).status, 404);
    const post = await web.request('/machines', { method: 'POST', headers: { Cookie: web.cookie } });
    t.equal(post.status, 405);
    t.equal(post.headers.get('allow'), 'GET, HEAD');
    const css = await web.get('/static/style.css');
    t.equal(css.status, 200);
    t.match(css.headers.get('content-type'), 'text/css');
  });
});
