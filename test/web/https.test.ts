/**
 * The web UI over HTTPS (`tls` / --web-tls-cert and --web-tls-key): a client
 * that trusts the certificate logs in and gets a Secure session cookie; the
 * CLI refuses half a key pair and unreadable files with exit 2.
 */
import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../db/open.js';
import { DEFAULT_SERVER_CONFIG } from '../../server/config.js';
import { startWebServer } from '../../web/server.js';
import { addTestUser } from '../helpers/web-server.js';

const dir = await mkdtemp(join(tmpdir(), 'acs-https-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const certFile = join(dir, 'cert.pem');
const keyFile = join(dir, 'key.pem');
execFileSync('openssl', [
  'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
  '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
], { stdio: 'ignore' });
const ca = await readFile(certFile);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function https(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, ca }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

t.test('HTTPS: login gives a Secure cookie that opens the API', async (t) => {
  const store = await openStore('sqlite::memory:');
  t.teardown(() => store.close());
  const web = await startWebServer({
    driver: store.driver, port: 0, host: DEFAULT_SERVER_CONFIG.webHost, staleAfterMs: DEFAULT_SERVER_CONFIG.staleAfterMs, tls: { cert: ca, key: await readFile(keyFile) },
  });
  t.teardown(() => web.close());
  t.match(web.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const user = await addTestUser(store, 'sam', 'viewer');
  const login = await https(`${web.url}/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ user: user.name, password: user.password }).toString(),
  });
  t.equal(login.status, 303);
  const cookie = String(login.headers['set-cookie']);
  t.match(cookie, /; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+; Secure$/, 'the cookie is Secure over TLS');
  const api = await https(`${web.url}/api/machines`, { headers: { Cookie: cookie.split(';')[0]! } });
  t.equal(api.status, 200);
  t.same(JSON.parse(api.body), { items: [] });
  t.equal((await https(`${web.url}/api/machines`)).status, 401);
  const plain = await fetch(web.url.replace('https:', 'http:') + '/login').then(
    (r) => r.status,
    () => 'refused',
  );
  t.not(plain, 200, 'plain HTTP is not served on the HTTPS port');
});

t.test('the CLI refuses half a key pair and an unreadable file', async (t) => {
  const cli = fileURLToPath(new URL('../../server/cli.js', import.meta.url));
  const run = (...args: string[]) =>
    new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [cli, 'web', '--db', `sqlite:${join(dir, 'a.db')}`, '--web-port', '0', ...args], (err, _o, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      ),
    );
  const half = await run('--web-tls-cert', certFile);
  t.equal(half.code, 2);
  t.equal(half.stderr.trim(), 'acs-server: --web-tls-cert and --web-tls-key go together');
  const missing = await run('--web-tls-cert', certFile, '--web-tls-key', join(dir, 'nope.pem'));
  t.equal(missing.code, 2);
  t.equal(missing.stderr.trim(), `acs-server: --web-tls-key ${join(dir, 'nope.pem')}: ENOENT`);
});
