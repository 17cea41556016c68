import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { exchange } from '../../client/exchange.js';
import { AcsError } from '../../shared/protocol/errors.js';
import { freePort } from '../helpers/free-port.js';

const CLI = fileURLToPath(new URL('../../server/cli.js', import.meta.url));
const run = (...args: string[]) => promisify(execFile)(process.execPath, [CLI, ...args]);


t.test('acs-server init, migrate, serve with the web UI, stop on SIGTERM', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acs-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const caDir = join(dir, 'ca');
  t.match((await run('init', '--ca-dir', caDir)).stdout, /privacy CA created/);
  t.match((await run('init', '--ca-dir', caDir)).stdout, /already present/, 'init keeps an existing CA');
  t.equal((await stat(join(caDir, 'cakey.pem'))).mode & 0o777, 0o600);
  const db = `sqlite:${join(dir, 'acs.db')}`;
  t.match((await run('migrate', '--db', db)).stdout, /schema up to date \(sqlite\)/);
  const token = (await run('token', 'create', '--name', 'ci', '--role', 'viewer', '--db', db)).stdout.trim();
  t.match(token, /^acs_[\w-]{43}$/, 'token create prints the token');

  const [port, webPort] = [await freePort(), await freePort()];
  const server = spawn(process.execPath, [CLI, '--port', String(port), '--host', '127.0.0.1', '--db', db, '--ca-dir', caDir, '--web-port', String(webPort)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  server.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  t.teardown(() => server.kill('SIGKILL'));
  const deadline = Date.now() + 20_000;
  while (!/web UI ready/.test(log)) {
    if (Date.now() > deadline) throw new Error(`server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = `http://127.0.0.1:${webPort}/api/machines`;
  const machines = await (await fetch(api, { headers: { Authorization: `Bearer ${token}` } })).json();
  t.same(machines, { items: [] }, 'the web API answers from the same database, to the token');
  t.equal((await fetch(api)).status, 401, 'and to nobody without one (login is on by default)');
  const refused = await exchange('127.0.0.1', port, { command: 'nonce', hostname: 'nobody.test', userid: 'u', boottime: '2026-01-01 00:00:00' }).catch((e: unknown) => e);
  t.ok(refused instanceof AcsError && refused.code === 0x90000023, 'the attestation port answers with IBM error codes');
  const requestLine = () => log.split('\n').find((l) => l.includes('"command":"nonce"'));
  // The line is written when the connection closes, just after the client has its answer.
  for (let i = 0; i < 50 && !requestLine(); i++) await new Promise((r) => setTimeout(r, 100));
  const line = requestLine();
  t.ok(line, 'one log line per request');
  t.match(JSON.parse(line!), { hostname: 'nobody.test', command: 'nonce', outcome: '90000023', host: '127.0.0.1' });
  t.type(JSON.parse(line!).durationMs, 'number');
  server.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM stops the server cleanly');
});

t.test('acs-server refuses to start without a privacy CA and says how to make one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acs-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const err = await run('--port', '0', '--db', `sqlite:${join(dir, 'a.db')}`, '--ca-dir', join(dir, 'none'), '--web-port', '0').then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  t.ok(err, 'exits non-zero');
  t.match(err?.stderr, /acs-server init/);
});

t.test('acs-server --help names every command', async (t) => {
  const { stdout } = await run('--help');
  for (const c of ['serve', 'init', 'migrate', 'web']) t.match(stdout, new RegExp(`acs-server ${c}`));
});

t.test('a numeric option out of bounds exits 2 with one line naming it, before anything starts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acs-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const db = join(dir, 'never.db');
  const cases: [string[], string][] = [
    [['--max-connections', '0'], 'acs-server: --max-connections must be at least 1, got 0'],
    [['--read-timeout', 'soon'], 'acs-server: --read-timeout must be a number, got NaN'],
    [['--port', '70000'], 'acs-server: --port must be from 0 to 65535, got 70000'],
    [['--max-frame-bytes', '1.5'], 'acs-server: --max-frame-bytes must be a whole number, got 1.5'],
  ];
  for (const [args, message] of cases) {
    const err = await run(...args, '--db', `sqlite:${db}`, '--ca-dir', join(dir, 'none'), '--web-port', '0').then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    t.equal(err?.code, 2, `${args.join(' ')}: exit code 2`);
    t.equal(err?.stderr, `${message}\n`, `${args.join(' ')}: one line naming the option`);
  }
  const web = await run('web', '--stale-after', '0', '--db', `sqlite:${db}`).catch((e: { code: number; stderr: string }) => e);
  t.match(web, { code: 2, stderr: 'acs-server: --stale-after must be at least 1 h, got 0\n' }, 'acs-server web too');
  await t.rejects(stat(db), 'no database was created');
});
