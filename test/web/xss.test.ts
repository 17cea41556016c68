/**
 * A hostile hostname (and file name, error message, user id) stored verbatim
 * is inert everywhere: the HTML shows the literal text and carries no markup
 * from it, Chromium opens no dialog and creates no element from it, and the
 * JSON API returns it unchanged.
 */
import t from 'tap';
import { forEachSeededWeb } from '../helpers/seeded-web.js';
import { launchChromium, readMachinePages, screenshot, watchedPage } from '../helpers/web-browser.js';
import { XSS_FILE, XSS_HOST } from '../helpers/web-seed.js';
import { machinePath } from '../helpers/web-server.js';

const ESCAPED_HOST = '&lt;img src=x onerror=alert(1)&gt;&#39;; DROP TABLE machines; --';
const NOT_STORED = '<svg onload=alert(3)>';

const browser = await launchChromium(t);

forEachSeededWeb(t, async (t, { backend, fleet, web }) => {
  const [refused, passed] = fleet.machines.xss.reports as [number, number];
  const enc = encodeURIComponent(XSS_HOST);
  const pages = [
    '/', '/machines', `/machines?q=${encodeURIComponent('<img')}`, machinePath(XSS_HOST), machinePath(XSS_HOST, '/bioslog'),
    machinePath(XSS_HOST, '/imalog'), `${machinePath(XSS_HOST, '/imalog')}?status=problem&path=${encodeURIComponent('<script>')}`,
    '/reports', `/reports?hostname=${enc}`, `/reports/${refused}`, `/reports/${passed}`, machinePath(NOT_STORED),
  ];

  t.test('HTML shows the literal text and no markup from it', async (t) => {
    for (const path of pages) {
      const res = await web.get(path);
      t.ok(res.status === 200 || (path === machinePath(NOT_STORED) && res.status === 404), `${path}: ${res.status}`);
      t.notMatch(res.text, /<img|<svg|<script|["'] *on\w+=/i, `${path}: no markup from data`);
    }
    const machine = await web.get(machinePath(XSS_HOST));
    t.match(machine.text, `<h1>${ESCAPED_HOST}</h1>`);
    t.match(machine.text, `href="/machines/${enc.replace(/'/g, '&#39;')}/bioslog"`, 'links carry the hostname percent-encoded');
    const ima = await web.get(machinePath(XSS_HOST, '/imalog'));
    t.match(ima.text, '/tmp/&lt;script&gt;alert(&quot;ima&quot;)&lt;/script&gt;');
    const report = await web.get(`/reports/${refused}`);
    t.match(report.text, '&lt;script&gt;alert(&quot;msg&quot;)&lt;/script&gt;');
    t.match(report.text, '&lt;b&gt;root&lt;/b&gt;');
    t.match((await web.get(machinePath(NOT_STORED))).text, '&lt;svg onload=alert(3)&gt;');
  });

  t.test('JSON returns it verbatim', async (t) => {
    const list = await web.get('/api/machines');
    t.ok(list.json.items.some((m: { hostname: string }) => m.hostname === XSS_HOST));
    const m = await web.get(`/api/machines/${enc}`);
    t.equal(m.status, 200);
    t.equal(m.json.hostname, XSS_HOST);
    t.equal(m.json.url, `/machines/${enc}`);
    const report = (await web.get(`/api/reports/${refused}`)).json;
    t.match(report, { hostname: XSS_HOST, userid: '<b>root</b>', errorMessage: '<script>alert("msg")</script>' });
    const ima = (await web.get(`/api/machines/${enc}/imalog?path=${encodeURIComponent('<script>')}`)).json;
    t.same(ima.items.map((e: { filename: string }) => e.filename), [XSS_FILE]);
    t.equal((await web.get(`/api/reports?hostname=${enc}`)).json.items.length, 2);
    t.equal((await web.get('/api/machines')).json.items.length, 6, 'the machines table is still there');
  });

  t.test('Chromium runs nothing from it', async (t) => {
    const { page, dialogs } = await watchedPage(browser, web);
    t.teardown(() => page.close());
    const seen = await readMachinePages(page, web.url, XSS_HOST, `${backend.name}-hostile`);
    t.equal(seen.machine.title, XSS_HOST, 'the page shows the literal hostname');
    t.equal(seen.machinesRow.Hostname, XSS_HOST);
    t.equal(seen.reports.title, `Reports of ${XSS_HOST}`);
    t.equal(seen.ima.entries[0]![1], XSS_FILE);
    for (const path of pages) {
      await page.goto(web.url + path);
      t.equal(await page.locator('img, svg, script, iframe, object, embed').count(), 0, `${path}: no element from data`);
    }
    await page.goto(`${web.url}/api/machines/${enc}`);
    t.match(await page.locator('body').innerText(), XSS_HOST, 'JSON shown as text');
    await page.goto(`${web.url}/reports/${refused}`);
    t.match(await page.locator('dl.props').innerText(), '<script>alert("msg")</script>');
    await screenshot(page, `${backend.name}-hostile-report`);
    t.same(dialogs, [], 'no dialog fired');
  });
});
