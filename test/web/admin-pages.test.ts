/**
 * The admin pages of policies and alert deliveries, over a real SQLite store
 * and HTTP with a logged-in admin: every policy with its kind, default flag
 * and assignments, one policy's content, failed deliveries with their last
 * error and given-up ones; client strings escaped; a viewer is refused.
 */
import t from 'tap';
import { OutboxSql } from '../../db/alert-outbox.js';
import { openStore } from '../../db/open.js';
import { PolicySql } from '../../db/policy-store.js';
import { addTestUser, logIn, startTestWeb } from '../helpers/web-server.js';

const store = await openStore('sqlite::memory:');
t.teardown(() => store.close());
const driver = store.driver;
const policies = new PolicySql(driver);
const outbox = new OutboxSql(driver);
const T0 = new Date('2026-12-04T08:00:00Z');
const HOSTILE = '<script>alert(1)</script>.example';

await policies.save('base', 'ima', JSON.stringify({ meta: { version: 1 }, digests: { '/usr/bin/<b>': ['a'.repeat(64)] }, excludes: [] }), T0);
await policies.save('lab-fw', 'pcr', JSON.stringify({ meta: { version: 1, source: 'white list of lab-1' }, pcrs: { sha256: { 0: 'b'.repeat(64) } } }), T0);
await policies.assign('base', { hostnames: ['web-1.example', HOSTILE], isDefault: true }, T0);
await policies.assign('lab-fw', { hostnames: ['web-1.example'] }, T0);
const body = (id: string) => JSON.stringify({ id, type: 'attestation.failed' });
await store.transaction((tx) =>
  tx.insertAlerts([
    { alertId: 'a-ok', sink: 'log', type: 'machine.state_changed', hostname: 'web-1.example', body: body('a-ok'), createdAt: T0 },
    { alertId: 'a-retry', sink: 'webhook:http://hooks.example/acs', type: 'attestation.failed', hostname: HOSTILE, body: body('a-retry'), createdAt: T0 },
    { alertId: 'a-gone', sink: 'webhook:http://hooks.example/acs', type: 'policy.violation', hostname: 'web-1.example', body: body('a-gone'), createdAt: T0 },
  ]),
);
const claimed = await outbox.claim(['log', 'webhook:http://hooks.example/acs'], T0, 60_000, 10, 'test');
for (const d of claimed) {
  if (d.alertId === 'a-ok') await outbox.delivered(d, T0);
  if (d.alertId === 'a-retry') await outbox.attemptFailed(d, 'connect ECONNREFUSED 10.0.0.1:443 <html>', new Date(T0.getTime() + 4000), T0);
  if (d.alertId === 'a-gone') await outbox.attemptFailed(d, 'HTTP 500 from hooks.example', null, T0);
}

const web = await startTestWeb(t, store);

t.test('policies: every policy, the default, every assignment, escaped', async (t) => {
  const res = await web.get('/admin/policies');
  t.equal(res.status, 200);
  t.match(res.text, /<a href="\/admin\/policies\/base">base<\/a><\/td><td>IMA runtime policy<\/td><td>2<\/td><td>yes<\/td>/);
  t.match(res.text, /<a href="\/admin\/policies\/lab-fw">lab-fw<\/a><\/td><td>measured-boot reference values<\/td><td>1<\/td><td><\/td>/);
  t.match(res.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;\.example/, 'a hostile hostname is text');
  t.notMatch(res.text, /<script>/);
  const one = await web.get('/admin/policies/base');
  t.equal(one.status, 200);
  t.match(one.text, /<dd id="policy-kind">IMA runtime policy<\/dd>/);
  t.match(one.text, /&quot;\/usr\/bin\/&lt;b&gt;&quot;/, 'the content, escaped');
  t.match(one.text, /id="policy-hosts">.*web-1\.example/s);
  t.equal((await web.get('/admin/policies/nothing')).status, 404);
});

t.test('alerts: failed deliveries with their last error, given-up ones, and the newest alerts', async (t) => {
  const res = await web.get('/admin/alerts');
  t.equal(res.status, 200);
  const failed = res.text.slice(res.text.indexOf('id="failed-deliveries"'), res.text.indexOf('Newest alerts'));
  t.match(failed, /a-retry/);
  t.match(failed, /retrying/);
  t.match(failed, /connect ECONNREFUSED 10\.0\.0\.1:443 &lt;html&gt;/);
  t.match(failed, /a-gone/);
  t.match(failed, /given up/);
  t.notMatch(failed, /a-ok/, 'a delivered alert is not a failure');
  t.match(res.text.slice(res.text.indexOf('id="recent-alerts"')), /a-ok[\s\S]*delivered|delivered[\s\S]*a-ok/);
});

t.test('a given-up delivery retried from the page, with the CSRF token of the session', async (t) => {
  const page = await web.get('/admin/alerts');
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
  const gone = (await outbox.troubled(10)).find((r) => r.alertId === 'a-gone')!;
  const retrying = (await outbox.troubled(10)).find((r) => r.alertId === 'a-retry')!;
  t.match(page.text, new RegExp(`name="retry" value="${gone.id}"`), 'a Retry button on the given-up delivery');
  t.notMatch(page.text, new RegExp(`name="retry" value="${retrying.id}"`), 'none on one still retrying');
  const post = (fields: Record<string, string>) =>
    web.request('/admin/alerts', { method: 'POST', headers: { Cookie: web.cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  t.equal((await post({ retry: String(gone.id) })).status, 403, 'no CSRF token, no change');
  t.equal((await outbox.troubled(10)).find((r) => r.id === gone.id)!.state, 'failed');
  t.equal((await post({ retry: String(retrying.id), csrf })).status, 404, 'only a given-up delivery is retried');
  t.equal((await post({ retry: 'x', csrf })).status, 400);
  const done = await post({ retry: String(gone.id), csrf });
  t.equal(done.status, 303);
  t.equal(done.headers.get('location'), '/admin/alerts');
  t.match((await outbox.troubled(10)).find((r) => r.id === gone.id), { state: 'pending', claimToken: null, lastError: 'HTTP 500 from hooks.example' }, 'due again, its last error kept');
});

t.test('admins only', async (t) => {
  const viewer = await addTestUser(store, 'vic', 'viewer');
  const cookie = await logIn(web.url, viewer);
  for (const path of ['/admin/policies', '/admin/policies/base', '/admin/alerts']) {
    t.equal((await web.request(path, { headers: { Cookie: cookie } })).status, 403, `${path} refused to a viewer`);
  }
  t.match((await web.get('/account')).text, /href="\/admin\/policies"[\s\S]*href="\/admin\/alerts"/, "the admin's account page links them");
});
