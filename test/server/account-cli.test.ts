/**
 * `acs-server user …` and `token …` against a real SQLite file: what they
 * print, their exit codes, that the stored rows hold only hashes, and that a
 * user made on the command line logs in to a real `acs-server web`; and the
 * refusal of `--web-auth off` on a listener other hosts can reach.
 */
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/free-port.js';
import { logIn } from '../helpers/web-server.js';

const CLI = fileURLToPath(new URL('../../server/cli.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin ?? '');
  });
}

const dir = await mkdtemp(join(tmpdir(), 'acs-accounts-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const dbFile = join(dir, 'acs.db');
const db = ['--db', `sqlite:${dbFile}`];

t.test('user add, list, passwd, remove', async (t) => {
  const added = await run(['user', 'add', 'alice', '--role', 'admin', '--password-stdin', ...db], 'correct horse battery\n');
  t.equal(added.code, 0, added.stderr);
  t.match(added.stdout, 'user alice added (admin)');
  const generated = await run(['user', 'add', 'bob', '--role', 'viewer', ...db]);
  t.equal(generated.code, 0);
  const bobPassword = /password for bob \(shown once\): (\S+)/.exec(generated.stdout)?.[1];
  t.ok(bobPassword && bobPassword.length >= 40, 'without --password-stdin a strong password is generated and printed once');

  const again = await run(['user', 'add', 'alice', '--role', 'viewer', '--password-stdin', ...db], 'another password\n');
  t.equal(again.code, 1);
  t.equal(again.stderr.trim(), 'acs-server: user alice exists');
  const short = await run(['user', 'add', 'carol', '--role', 'viewer', '--password-stdin', ...db], 'short\n');
  t.equal(short.code, 1);
  t.match(short.stderr, 'a password needs at least 8 characters');
  t.equal((await run(['user', 'add', 'bad name', '--role', 'viewer', ...db])).code, 1, 'names are checked');
  t.equal((await run(['user', 'add', 'dave', '--role', 'root', ...db])).code, 2, 'an unknown role is a usage error');

  const list = await run(['user', 'list', ...db]);
  t.match(list.stdout, /^alice\tadmin\tcreated .*\nbob\tviewer\tcreated /);
  t.notMatch(list.stdout, 'carol');

  const bytes = await readFile(dbFile);
  t.notOk(bytes.includes('correct horse battery'), 'the password is not stored');
  t.notOk(bytes.includes(bobPassword!), 'nor the generated one');

  t.equal((await run(['user', 'passwd', 'alice', '--password-stdin', ...db], 'a new long password\n')).code, 0);
  t.equal((await run(['user', 'passwd', 'nobody', '--password-stdin', ...db], 'a new long password\n')).code, 1);
  t.equal((await run(['user', 'remove', 'bob', ...db])).code, 0);
  t.equal((await run(['user', 'remove', 'bob', ...db])).code, 1, 'removing twice says there is no such user');
  t.notMatch((await run(['user', 'list', ...db])).stdout, 'bob');
});

t.test('token create, list, revoke', async (t) => {
  const created = await run(['token', 'create', '--name', 'ci', '--role', 'viewer', ...db]);
  t.equal(created.code, 0);
  const token = created.stdout.trim();
  t.match(token, /^acs_[\w-]{43}$/, 'stdout holds the token alone');
  t.match(created.stderr, 'shown once');
  t.notOk((await readFile(dbFile)).includes(token), 'only its hash is stored');
  t.equal((await run(['token', 'create', '--name', 'ci', '--role', 'admin', ...db])).code, 1, 'names are unique');
  t.match((await run(['token', 'list', ...db])).stdout, /^ci\tviewer\tcreated \S+ \S+\tactive$/m);
  t.equal((await run(['token', 'revoke', 'ci', ...db])).code, 0);
  t.match((await run(['token', 'list', ...db])).stdout, /^ci\tviewer\tcreated \S+ \S+\trevoked /m);
  t.equal((await run(['token', 'revoke', 'ci', ...db])).code, 1);
});

t.test('acs-server web: login required by default, a CLI user logs in; off refused beyond loopback', async (t) => {
  const port = await freePort();
  const web = spawn(process.execPath, [CLI, 'web', '--web-port', String(port), ...db], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  web.stderr.on('data', (d) => (log += d));
  t.teardown(() => web.kill('SIGKILL'));
  while (!/web UI ready/.test(log)) {
    if (web.exitCode !== null) throw new Error(log);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = `http://127.0.0.1:${port}`;
  t.equal((await fetch(`${url}/api/machines`)).status, 401);
  const cookie = await logIn(url, { name: 'alice', password: 'a new long password' });
  t.equal((await fetch(`${url}/api/machines`, { headers: { Cookie: cookie } })).status, 200, 'the password set by user passwd works');

  const refused = await run(['web', '--web-host', '0.0.0.0', '--web-auth', 'off', '--web-port', String(await freePort()), ...db]);
  t.equal(refused.code, 2);
  t.equal(refused.stderr.trim(), 'acs-server: --web-auth off is allowed only on a loopback --web-host (127.0.0.1, ::1, localhost), not 0.0.0.0');
  const serve = await run(['--web-host', '192.0.2.1', '--web-auth', 'off', '--port', '0', ...db]);
  t.equal(serve.code, 2, 'the attestation server refuses it too, before listening');
  t.match(serve.stderr, /^acs-server: --web-auth off is allowed only on a loopback/);
});
