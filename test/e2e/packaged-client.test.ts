/**
 * The packaged executable (dist/pkg/acs-client) as a host runs it: from an
 * empty directory with an empty environment (`env -i`), so nothing of this
 * Node.js installation or node_modules can help it. Against a real swtpm
 * and a real acs-server it enrolls, extends, attests and reports its
 * status, and every documented exit code comes from a real cause: a refused
 * quote (1), a usage error (2), an unreachable TPM (3), a server that resets
 * or answers busy through all retries (4), a run holding the lock (5), a
 * host never enrolled (6).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { encodeFrame } from '../../shared/protocol/frame.js';
import { startTestServer } from '../helpers/acs-server.js';
import { BIOS_LOG, IMA_LOG } from '../helpers/attested-host.js';
import { EXECUTABLE, ensurePackage, packageVersion } from '../helpers/client-package.js';
import { freePort } from '../helpers/free-port.js';
import { startSwtpm } from '../helpers/swtpm.js';

await ensurePackage();
const tpm = await startSwtpm({ t });
const server = await startTestServer(t, { trust: [tpm.caCertPem, tpm.intermediateCertPem] });
const scratch = await mkdtemp(join(tmpdir(), 'acs-packaged-'));
t.teardown(() => rm(scratch, { recursive: true, force: true }));
const cwd = join(scratch, 'empty');
await mkdir(cwd);

const HOST = 'packaged.test';
const stateDir = join(scratch, 'state');
const config = join(scratch, 'client.conf');
await writeFile(config, `# test host\nserver = ${server.address}\ntpm = ${tpm.tcti}\nhostname = ${HOST}\nstate-dir = ${stateDir}\n`);
const logs = ['--bios-log', BIOS_LOG, '--ima-log', IMA_LOG];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(EXECUTABLE, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

const acs = (...args: string[]) => start(args).done;
const json = (r: Run) => JSON.parse(r.stdout) as Record<string, unknown> & { timings: Record<string, number> };

/** A TCP server that counts connections and treats each with `onConnection`. */
async function fakeServer(onConnection: (s: net.Socket) => void): Promise<{ address: string; connections: () => number }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  return { address: `127.0.0.1:${(srv.address() as net.AddressInfo).port}`, connections: () => sockets.size };
}

t.test('the executable runs with an empty environment: version and documented exit codes', async (t) => {
  const v = await acs('--version');
  t.equal(v.code, 0, v.stderr);
  t.equal(v.stdout.trim(), await packageVersion());
  const help = await acs('--help');
  t.equal(help.code, 0);
  for (const line of ['0  attested', '1  the server refused', '2  usage', '3  TPM', '4  server unreachable', '5  another run holds the lock', '6  not enrolled']) {
    t.match(help.stdout, line, `--help documents "${line}"`);
  }
});

t.test('not enrolled: attest and status exit 6', async (t) => {
  const dir = join(scratch, 'never-enrolled');
  const r = await acs('attest', '--config', config, '--state-dir', dir, '--json');
  t.equal(r.code, 6, r.stderr);
  t.equal(json(r).outcome, 'not-enrolled');
  t.match(r.stderr, /^acs-client: not enrolled: .*run "acs-client enroll"/);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line on stderr');
  t.equal((await acs('status', '--config', config, '--state-dir', dir)).code, 6);
});

t.test('usage errors exit 2', async (t) => {
  const bad = await acs('attest', '--config', config, '--retries', '-1');
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--retries must be a whole number/);
  const noFile = await acs('attest', '--config', join(scratch, 'absent.conf'));
  t.equal(noFile.code, 2);
  t.match(noFile.stderr, /config file .*absent\.conf: ENOENT/);
  await writeFile(join(scratch, 'typo.conf'), 'sever = x\n');
  const typo = await acs('status', '--config', join(scratch, 'typo.conf'));
  t.equal(typo.code, 2);
  t.match(typo.stderr, /typo\.conf:1: unknown key "sever"/);
});

t.test('an unreachable TPM exits 3', async (t) => {
  const r = await acs('enroll', '--config', config, '--state-dir', join(scratch, 'no-tpm'), '--tpm', `swtpm:127.0.0.1:${await freePort()}`, '--timeout', '10');
  t.equal(r.code, 3, r.stderr);
  t.match(r.stderr, /^acs-client: TPM unreachable/);
});

t.test('enroll, extend and attest with the settings from client.conf', async (t) => {
  const enrolled = await acs('enroll', '--config', config);
  t.equal(enrolled.code, 0, enrolled.stderr);
  t.match(enrolled.stdout, `enrolled ${HOST}`);
  t.ok((await server.store.getMachine(HOST))?.enrolled, 'the server enrolled the host');

  const extended = await acs('extend', '--config', config, ...logs);
  t.equal(extended.code, 0, extended.stderr);

  const attested = await acs('attest', '--config', config, ...logs, '--json');
  t.equal(attested.code, 0, attested.stderr);
  t.equal(attested.stderr, '', 'nothing on stderr');
  const result = json(attested);
  t.match(result, { outcome: 'attested', exitCode: 0, hostname: HOST, server: server.address, attempts: 1, newBoot: true, imaEntriesSent: 1083, firmwareEventsSent: 27 });
  t.notOk(result.verdict, 'no verdict on success');
  for (const k of ['splayMs', 'totalMs', 'nonceMs', 'quoteMs', 'logsMs', 'verdictMs']) t.type(result.timings[k], 'number', `timings.${k}`);
  t.equal((await server.store.getMachine(HOST))?.imaevents, 1083, 'the server stored every IMA entry');

  const quiet = await acs('attest', '--config', config, ...logs, '--splay', '1');
  t.strictSame({ code: quiet.code, stdout: quiet.stdout, stderr: quiet.stderr }, { code: 0, stdout: '', stderr: '' }, 'silent on success, as cron wants');

  const status = await acs('status', '--config', config, '--json');
  t.equal(status.code, 0, status.stderr);
  t.match(json(status), { enrolled: true, hostname: HOST, server: server.address, ak: { alg: 'rsa' }, lastAttestation: { outcome: 'attested', exitCode: 0 } });
  const human = await acs('status', '--config', config);
  t.match(human.stdout, /^enrolled: +yes$/m);
  t.match(human.stdout, /^last attestation: attested at \d{4}-/m);
});

t.test('a refused quote exits 1 with the server verdict, and is not retried', async (t) => {
  // One more PCR 10 extend than the log holds: no IMA prefix reproduces the quote.
  const extra = await acs('extend', '--config', config, '--ima-log', IMA_LOG, '--ima-count', '1');
  t.equal(extra.code, 0, extra.stderr);
  const r = await acs('attest', '--config', config, ...logs, '--json');
  t.equal(r.code, 1, r.stderr);
  const result = json(r);
  t.match(result, { outcome: 'refused', exitCode: 1, attempts: 1, verdict: { code: '90000020', meaning: /event logs do not reproduce/ } });
  const { diagnosis } = result.verdict as { diagnosis: string };
  t.match(diagnosis, /\S/, 'the server\'s diagnosis');
  t.notMatch(diagnosis, /^event logs do not reproduce the quoted PCR digest: /, 'without the code\'s meaning in front');
  t.match(r.stderr, /^acs-client: server refused: 90000020 /);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line on stderr');
  const status = json(await acs('status', '--config', config, '--json'));
  t.match(status.lastAttestation, { outcome: 'refused', verdict: { code: '90000020' } }, 'status shows the refusal');
});

t.test('transient failures are retried, then exit 4', async (t) => {
  const resetting = await fakeServer((s) => s.resetAndDestroy());
  const reset = await acs('attest', '--config', config, '--server', resetting.address, '--retries', '2', '--json');
  t.equal(reset.code, 4, reset.stderr);
  t.match(json(reset), { outcome: 'unreachable', attempts: 3 });
  t.equal(resetting.connections(), 3, 'three connections: the first try and two retries');
  t.match(reset.stderr, /^acs-client: server unreachable.*\(after 3 attempts\)\n$/);

  const busy = await fakeServer((s) => s.once('data', () => s.end(encodeFrame({ error: '90000103' }))));
  const b = await acs('attest', '--config', config, '--server', busy.address, '--retries', '1', '--json');
  t.equal(b.code, 4, b.stderr);
  t.match(json(b), { outcome: 'unreachable', attempts: 2 });
  t.equal(busy.connections(), 2, 'busy answers are retried');

  const dbDown = await fakeServer((s) => s.once('data', () => s.end(encodeFrame({ error: '80000041' }))));
  const d = await acs('attest', '--config', config, '--server', dbDown.address, '--retries', '1', '--json');
  t.equal(d.code, 4, d.stderr);
  t.equal(dbDown.connections(), 2, 'the server\'s database trouble is retried');

  const closed = await acs('attest', '--config', config, '--server', `127.0.0.1:${await freePort()}`, '--retries', '0', '--json');
  t.equal(closed.code, 4, closed.stderr);
  t.match(json(closed), { outcome: 'unreachable', attempts: 1 });
});

t.test('a second run while one holds the lock exits 5; a dead holder\'s lock is taken over', async (t) => {
  const silent = await fakeServer((s) => s.resume());
  const before = json(await acs('status', '--config', config, '--json')).lastAttestation;
  const first = start(['attest', '--config', config, '--server', silent.address, '--timeout', '60', '--retries', '0']);
  const lockFile = join(stateDir, 'acs-client.lock');
  while (!(await access(lockFile).then(() => true, () => false))) await sleep(50);
  const second = await acs('attest', '--config', config, ...logs, '--json');
  t.equal(second.code, 5, second.stderr);
  t.equal(json(second).outcome, 'locked');
  t.match(second.stderr, new RegExp(`^acs-client: another acs-client run \\(pid ${first.child.pid}\\) holds `));
  first.child.kill('SIGKILL');
  await first.done;
  t.equal((await readFile(lockFile, 'utf8')).trim(), String(first.child.pid), 'the killed run left its lock behind');
  const after = await acs('status', '--config', config, '--json');
  t.strictSame(json(after).lastAttestation, before, 'the locked-out run did not overwrite the last result');
  const next = await acs('attest', '--config', config, '--server', `127.0.0.1:${await freePort()}`, '--retries', '0');
  t.equal(next.code, 4, 'the next run took the stale lock and went on to contact the server');
});

t.test('the environment wins over client.conf', async (t) => {
  const dir = join(scratch, 'from-env');
  const r = await start(['status', '--config', config, '--json'], { ACS_DIR: dir }).done;
  t.equal(r.code, 6, 'ACS_DIR names a directory with no enrollment');
  t.equal(json(r).stateDir, dir);
});

t.test('on a terminal, a long upload shows a progress line that is cleared at the end', async (t) => {
  // A reboot: the server asks for the whole IMA log again.
  await tpm.restart();
  t.equal((await acs('extend', '--config', config, ...logs)).code, 0);
  const cmd = [EXECUTABLE, 'attest', '--config', config, ...logs, '--boottime', "'2030-01-01 00:00:00'"].join(' ');
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd, env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
  let tty = '';
  child.stdout.on('data', (d) => (tty += d));
  const code = await new Promise((resolve) => child.on('close', resolve));
  t.equal(code, 0, tty);
  t.match(tty, 'reading the IMA log: 1000 events');
  t.match(tty, 'sending 1083 IMA events');
  t.ok(tty.endsWith('\r\x1b[K'), 'the line is cleared: nothing is left on success');
});
