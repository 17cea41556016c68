/**
 * Web authentication over real HTTP: pages redirect to the login form and the
 * API answers 401 without credentials; API tokens open /api only while not
 * revoked; sessions end at logout, at expiry and with their user; failed
 * logins are throttled; forms from other sites and other Host names are
 * refused; passwords never reach the log.
 */
import t from 'tap';
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { authStore } from '../../db/auth-store.js';
import { openStore } from '../../db/open.js';
import type { SqlStore } from '../../db/sql-store.js';
import { newApiToken, secretHash } from '../../web/auth/secrets.js';
import { DEFAULT_SERVER_CONFIG } from '../../server/config.js';
import { startWebServer } from '../../web/server.js';
import { addTestUser, logIn, startTestWeb } from '../helpers/web-server.js';

const WEB_DEFAULTS = { host: DEFAULT_SERVER_CONFIG.webHost, staleAfterMs: DEFAULT_SERVER_CONFIG.staleAfterMs };
const store = await openStore('sqlite::memory:');
t.teardown(() => store.close());
const accounts = authStore(store.driver);
const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields),
});

/** A raw GET with exactly the Host header given (fetch would set its own). */
function getWithHost(url: string, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { headers: { Host: host } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('without credentials: pages redirect to /login, the API answers 401', async (t) => {
  const web = await startTestWeb(t, store);
  const page = await web.request('/machines?state=failing');
  t.equal(page.status, 303);
  t.equal(page.headers.get('location'), '/login?next=%2Fmachines%3Fstate%3Dfailing', 'back to the page asked for after login');
  const api = await web.request('/api/machines');
  t.equal(api.status, 401);
  t.same(api.json, { error: { status: 401, message: 'log in or send an API token (Authorization: Bearer)' } });
  t.equal(api.headers.get('www-authenticate'), 'Bearer realm="acs"');
  t.equal((await web.request('/api/nothing-here')).status, 401, 'even unknown API paths say nothing without credentials');
  t.equal((await web.request('/static/style.css')).status, 200, 'the stylesheet of the login page is public');
  const login = await web.request('/login');
  t.equal(login.status, 200);
  t.match(login.text, /<form method="post" action="\/login"/);
  t.match(login.headers.get('content-security-policy'), /form-action 'self'/);
  t.notMatch(login.text, /<script/i, 'no script on the login page');
  t.equal((await web.get('/machines')).status, 200, 'the logged-in session sees the page');
});

t.test('API tokens open /api until revoked, and nothing else', async (t) => {
  const web = await startTestWeb(t, store);
  const token = newApiToken();
  await accounts.createToken('reader', 'viewer', secretHash(token));
  const bearer = { headers: { Authorization: `Bearer ${token}` } };
  const ok = await web.request('/api/machines', bearer);
  t.equal(ok.status, 200);
  t.same(ok.json, { items: [] });
  t.equal(web.requests.at(-1)?.user, 'token:reader', 'the request log names the token');
  t.equal((await web.request('/machines', bearer)).status, 303, 'a token does not open the pages');
  t.equal((await web.request('/api/machines', { headers: { Authorization: `Bearer ${token}x` } })).status, 401, 'a wrong token is refused');
  t.equal((await web.request('/api/machines', { headers: { Authorization: `Basic ${token}` } })).status, 401);
  await accounts.revokeToken('reader');
  t.equal((await web.request('/api/machines', bearer)).status, 401, 'a revoked token is refused');
});

t.test('sessions: cookie flags, logout, expiry, removed user, changed password', async (t) => {
  const web = await startTestWeb(t, store);
  const viewer = await addTestUser(store, 'vera', 'viewer');
  const res = await fetch(`${web.url}/login`, { ...form({ user: viewer.name, password: viewer.password, next: '/reports' }), redirect: 'manual' });
  t.equal(res.status, 303);
  t.equal(res.headers.get('location'), '/reports');
  const setCookie = res.headers.get('set-cookie')!;
  t.match(setCookie, /^acs_session=[\w-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/, 'HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP');
  const cookie = setCookie.split(';')[0]!;
  const account = await web.request('/account', { headers: { Cookie: cookie } });
  t.match(account.text, /<dd id="account-user">vera<\/dd>/);
  t.match(account.text, /<dd id="account-role">viewer<\/dd>/);
  const csrf = /name="csrf" value="([^"]+)"/.exec(account.text)![1]!;

  t.equal((await web.request('/logout', { method: 'POST', headers: { Cookie: cookie } })).status, 303, 'logout');
  t.equal((await web.request('/reports', { headers: { Cookie: cookie } })).status, 303, 'the ended session opens nothing');
  t.ok(csrf, 'the account page carries the logout form with its CSRF token');

  const again = await logIn(web.url, viewer);
  await (store as SqlStore).driver.run("UPDATE web_sessions SET expires_at = '2000-01-01 00:00:00.000'");
  t.equal((await web.request('/reports', { headers: { Cookie: again } })).status, 303, 'an expired session opens nothing');
  const third = await logIn(web.url, viewer);
  await accounts.setPassword('vera', 'scrypt$15$8$3$eA==$eA==');
  t.equal((await web.request('/reports', { headers: { Cookie: third } })).status, 303, 'a new password ends the sessions');
  t.equal((await web.request('/reports', { headers: { Cookie: 'acs_session=forged' } })).status, 303, 'an invented cookie opens nothing');
});

t.test('wrong passwords are throttled per user and per address, and never logged', async (t) => {
  let logged = '';
  const logger = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => ((logged += c), cb()) }));
  const web = await startWebServer({ driver: store.driver, port: 0, ...WEB_DEFAULTS, logger, auth: { loginLimits: { perUser: 3, perAddress: 5 } } });
  t.teardown(() => web.close());
  const user = await addTestUser(store, 'tom', 'viewer');
  const other = await addTestUser(store, 'tina', 'viewer');
  const attempt = (name: string, password: string) => fetch(`${web.url}/login`, { ...form({ user: name, password }), redirect: 'manual' });
  for (let i = 0; i < 3; i++) {
    const bad = await attempt('tom', `wrong-${i}-password`);
    t.equal(bad.status, 401, `failure ${i + 1} is a plain refusal`);
    t.match(await bad.text(), /Wrong user name or password/);
  }
  const refused = await attempt('tom', user.password);
  t.equal(refused.status, 429, 'after 3 failures even the right password is refused');
  t.match(await refused.text(), /Too many failed logins/);
  t.ok(Number(refused.headers.get('retry-after')) > 0, 'Retry-After says when to come back');
  t.equal((await attempt('tina', other.password)).status, 303, 'another user still logs in');
  t.equal((await attempt('nobody', 'wrong-password-x')).status, 401);
  t.equal((await attempt('nobody2', 'wrong-password-y')).status, 401, 'five failures from this address');
  t.equal((await attempt('tina', other.password)).status, 429, 'then the address is refused for everyone');
  t.notMatch(logged, /wrong-\d-password|wrong-password-x/, 'no password in the log');
  t.notMatch(logged, user.password);
  t.match(logged, /"user":"tom".*"msg":"web: login failed"/, 'the failures are logged with the user name');
});

t.test('Host header: only configured names are served (DNS rebinding)', async (t) => {
  const web = await startTestWeb(t, store, { auth: { publicNames: ['acs.example.org'] } });
  const port = web.server.port;
  const evil = await getWithHost(web.url, '/login', 'evil.example');
  t.equal(evil.status, 421, 'Host: evil.example is refused');
  t.match(evil.body, 'an operator adds names with --web-public-name', 'and the page says how to allow a name');
  t.equal((await getWithHost(web.url, '/api/machines', `evil.example:${port}`)).status, 421);
  t.equal((await getWithHost(web.url, '/login', `localhost:${port + 1}`)).status, 421, 'a loopback name at another port is refused');
  t.equal((await getWithHost(web.url, '/login', `localhost:${port}`)).status, 200);
  t.equal((await getWithHost(web.url, '/login', 'acs.example.org')).status, 200, 'a configured public name is served');
});

t.test('state-changing requests from another site are refused', async (t) => {
  const web = await startTestWeb(t, store);
  const user = await addTestUser(store, 'carl', 'viewer');
  const cross = await web.request('/login', {
    ...form({ user: user.name, password: user.password }),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://evil.example' },
  });
  t.equal(cross.status, 403, 'a login form posted from another origin');
  const site = await web.request('/logout', { method: 'POST', headers: { Cookie: web.cookie, 'Sec-Fetch-Site': 'cross-site' } });
  t.equal(site.status, 403, 'a logout posted from another site');
  t.equal((await web.get('/machines')).status, 200, 'the session survived');
  t.equal((await web.request('/api/machines', { method: 'POST', headers: { Cookie: web.cookie } })).status, 405, 'the API reads only');
});

t.test('login turned off: only on loopback, everyone local is admin', async (t) => {
  await t.rejects(startWebServer({ driver: store.driver, port: 0, ...WEB_DEFAULTS, host: '0.0.0.0', auth: { mode: 'off' } }), {
    name: 'WebAuthConfigError',
    message: /--web-auth off is allowed only on a loopback --web-host/,
  });
  const web = await startTestWeb(t, store, { auth: { mode: 'off' } });
  t.equal((await web.request('/api/machines')).status, 200);
  t.match((await web.request('/account')).text, /<dd id="account-role">admin<\/dd>/);
  t.equal((await web.request('/login')).status, 303, 'there is no login form');
});

t.test('single sign-on: a user header is believed only from the trusted proxy', async (t) => {
  const trusted = await startTestWeb(t, store, { auth: { trustedProxies: ['127.0.0.1'], proxyUserHeader: 'X-Forwarded-User' } });
  const viaProxy = await trusted.request('/account', { headers: { 'X-Forwarded-User': 'sso.user@example.org' } });
  t.equal(viaProxy.status, 200);
  t.match(viaProxy.text, /<dd id="account-user">sso\.user@example\.org<\/dd>/);
  t.match(viaProxy.text, /<dd id="account-role">viewer<\/dd>/, 'an unknown name reads as viewer');
  await addTestUser(store, 'boss', 'admin');
  t.match((await trusted.request('/account', { headers: { 'X-Forwarded-User': 'boss' } })).text, /<dd id="account-role">admin<\/dd>/, 'a local user keeps their role');
  t.equal((await trusted.request('/account', { headers: { 'X-Forwarded-User': 'bad name<' } })).status, 303, 'a malformed name is nobody');

  const untrusted = await startTestWeb(t, store, { auth: { trustedProxies: ['192.0.2.7'], proxyUserHeader: 'X-Forwarded-User' } });
  t.equal((await untrusted.request('/api/machines', { headers: { 'X-Forwarded-User': 'boss' } })).status, 401, 'the header from anyone else is ignored');
});

t.test('admin pages: viewers are refused, a POST needs the CSRF token of its session', async (t) => {
  let logged = '';
  const logger = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => ((logged += c), cb()) }));
  const web = await startTestWeb(t, store, { logger });
  const viewer = await logIn(web.url, await addTestUser(store, 'val', 'viewer'));
  const token = newApiToken();
  await accounts.createToken('deploy', 'admin', secretHash(token));
  const bearer = { Authorization: `Bearer ${token}` };
  t.equal((await web.request('/api/machines', { headers: bearer })).status, 200);

  t.equal((await web.request('/admin/tokens', { headers: { Cookie: viewer } })).status, 403, 'a viewer may not read an admin page');
  const viewerPage = await web.request('/account', { headers: { Cookie: viewer } });
  const viewerCsrf = /name="csrf" value="([^"]+)"/.exec(viewerPage.text)![1]!;
  const post = (cookie: string, fields: Record<string, string>) => web.request('/admin/tokens', { ...form(fields), headers: { ...form(fields).headers, Cookie: cookie } });
  t.equal((await post(viewer, { revoke: 'deploy', csrf: viewerCsrf })).status, 403, 'nor change anything, even with its own CSRF token');

  const list = await web.get('/admin/tokens');
  t.equal(list.status, 200, 'an admin reads it');
  t.match(list.text, /<td>deploy<\/td><td>admin<\/td><td>[^<]+<\/td><td>active<\/td>/);
  const csrf = /name="csrf" value="([^"]+)"/.exec(list.text)![1]!;
  t.equal((await post(web.cookie, { revoke: 'deploy' })).status, 403, 'a POST without the CSRF token is refused');
  t.equal((await post(web.cookie, { revoke: 'deploy', csrf: viewerCsrf })).status, 403, 'so is one with another session\'s token');
  t.equal((await web.request('/api/machines', { headers: bearer })).status, 200, 'and the token still works');
  t.equal((await post(web.cookie, { revoke: 'nobody', csrf })).status, 404);
  const done = await post(web.cookie, { revoke: 'deploy', csrf });
  t.equal(done.status, 303, 'the admin revokes it with the form');
  t.equal(done.headers.get('location'), '/admin/tokens');
  t.match(logged, new RegExp(`"user":"${web.user!.name}","token":"deploy","msg":"web: API token revoked"`), 'the log says who revoked it');
  t.equal((await web.request('/api/machines', { headers: bearer })).status, 401, 'the revoked token opens nothing');
  t.match((await web.get('/admin/tokens')).text, /<td>deploy<\/td><td>admin<\/td><td>[^<]+<\/td><td>revoked /);
  t.equal((await web.request('/admin/tokens', { method: 'POST', headers: bearer })).status, 303, 'API tokens open no page, POST or not');
});
