/**
 * acs-server on a terminal, installed with and without development
 * dependencies. `script` gives the server a pseudo-terminal as stderr (where a
 * logger decides pretty versus JSON); the production install is this build
 * beside a node_modules holding every package but pino-pretty, as
 * `npm ci --omit=dev` leaves it (links, with Node told to keep their paths).
 */
import t from 'tap';
import { spawn, execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, symlink, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A copy of the build whose node_modules lacks pino-pretty. */
async function productionInstall(dir: string): Promise<string> {
  await cp(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  await copyFile(join(ROOT, 'package.json'), join(dir, 'package.json'));
  for (const data of ['certificates', 'db']) await symlink(join(ROOT, data), join(dir, data));
  await mkdir(join(dir, 'node_modules'));
  for (const name of await readdir(join(ROOT, 'node_modules'))) {
    if (name !== 'pino-pretty' && name !== '.bin') await symlink(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  }
  return join(dir, 'dist/server/cli.js');
}

/** Runs the server under a pseudo-terminal until it logs that it is ready or exits; returns what the terminal showed. */
async function onTerminal(cli: string, dir: string): Promise<{ output: string; exited: boolean }> {
  const caDir = join(dir, 'ca');
  await promisify(execFile)(process.execPath, ['--preserve-symlinks', cli, 'init', '--ca-dir', caDir]);
  // Packages keep their linked paths, so nothing resolves from the full node_modules they link to.
  const command = [process.execPath, '--preserve-symlinks', '--preserve-symlinks-main', cli, '--port', '0', '--host', '127.0.0.1', '--db', `sqlite:${join(dir, 'acs.db')}`, '--ca-dir', caDir, '--web-port', '0']
    .map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let output = '';
  let exited = false;
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const gone = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const deadline = Date.now() + 30_000;
  while (!exited && !/acs-server ready/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const result = { output, exited };
  if (!exited) process.kill(-child.pid!, 'SIGTERM');
  await gone;
  return result;
}

t.test('a production install logs JSON on a terminal instead of dying for want of pino-pretty', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acs-prod-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { output, exited } = await onTerminal(await productionInstall(dir), dir);
  t.notOk(exited, `the server is still running (terminal showed: ${output.slice(0, 300)})`);
  const ready = output.split(/\r?\n/).find((l) => l.includes('acs-server ready'));
  t.ok(ready, 'it said it is ready');
  t.match(JSON.parse(ready ?? '{}'), { msg: 'acs-server ready', db: 'sqlite' }, 'as a JSON line');
});

t.test('with development dependencies a terminal gets pretty lines', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acs-dev-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { output, exited } = await onTerminal(join(ROOT, 'dist/server/cli.js'), dir);
  t.notOk(exited, 'the server is still running');
  const ready = output.split(/\r?\n/).find((l) => l.includes('acs-server ready'));
  t.match(ready, /INFO.*acs-server ready/, 'a pretty line');
  t.throws(() => JSON.parse(ready ?? ''), 'not JSON');
});
