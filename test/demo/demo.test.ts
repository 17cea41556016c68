/**
 * The README's first command: `npm run demo` from a clean clone (sharing this
 * checkout's node_modules instead of a fresh `npm ci`) must start the server
 * and web UI, enroll and attest a fleet with one failing host, and leave no
 * process behind on Ctrl-C.
 */
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const checkout = fileURLToPath(new URL('../../..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** Process ids whose command line mentions `needle`. */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) out.push(Number(pid));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

interface ApiMachine {
  hostname: string;
  state: string;
  lastReport: { outcome: string; errorCode: string | null } | null;
}

t.test('npm run demo from a clean clone', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'acs-demo-test-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const clone = join(work, 'clone');
  execFileSync('git', ['clone', '--quiet', checkout, clone]);
  await symlink(join(checkout, 'node_modules'), join(clone, 'node_modules'));
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: clone, stdio: 'ignore' });

  const [port, webPort] = [await freePort(), await freePort()];
  const dataDir = join(work, 'data');
  // Software TPM state goes under TMPDIR: every process the demo starts then names `work` on its command line.
  const tmp = join(work, 'tmp');
  await mkdir(tmp);
  const demo = spawn('npm', ['run', 'demo', '--silent', '--', '--port', String(port), '--web-port', String(webPort), '--dir', dataDir, '--interval', '2'], {
    cwd: clone,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TMPDIR: tmp },
    detached: true,
  });
  let output = '';
  demo.stdout.on('data', (d) => (output += d));
  demo.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => demo.once('exit', () => resolve()));
  t.teardown(() => {
    try {
      process.kill(-demo.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  });

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 120_000);
    const look = () => {
      const m = /web UI at (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      } else setTimeout(look, 200);
    };
    look();
  });
  t.equal(url, `http://127.0.0.1:${webPort}/`, 'the demo prints the web UI address');

  let machines: ApiMachine[] = [];
  const deadline = Date.now() + 120_000;
  for (;;) {
    machines = ((await (await fetch(`${url}api/machines`)).json()) as { items: ApiMachine[] }).items;
    const attested = machines.filter((m) => m.state === 'trusted');
    const failing = machines.filter((m) => m.state === 'failing');
    if (attested.length >= 3 && failing.length >= 1) break;
    if (Date.now() > deadline) throw new Error(`fleet not attested in time: ${JSON.stringify(machines)}\n${output}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  t.ok(machines.length >= 4, `${machines.length} machines enrolled`);
  t.ok(machines.filter((m) => m.state === 'trusted').length >= 3, 'at least three machines attested and trusted');
  const failing = machines.find((m) => m.state === 'failing');
  t.equal(failing?.hostname, 'tampered-1.demo.example', 'the tampered host is the failing one');
  t.equal(failing?.lastReport?.errorCode, '90000020', 'its logs do not reproduce the quote');

  t.ok(processesWith(dataDir).length >= 1, 'the server runs with the demo data directory');
  t.ok(processesWith(tmp).length >= 4, 'four software TPMs run');
  process.kill(-demo.pid!, 'SIGINT');
  await exited;
  t.match(output, /demo: stopped the server and 4 software TPMs/, 'Ctrl-C ends the demo cleanly');
  await new Promise((r) => setTimeout(r, 1000));
  t.same(processesWith(dataDir), [], 'no server process left');
  t.same(processesWith(join(work, 'clone')), [], 'no process of the clone left');
  t.same(processesWith(tmp), [], 'no software TPM left');
  t.comment(`demo: ${machines.length} machines, ${machines.filter((m) => m.state === 'trusted').length} trusted, 1 failing`);
});
