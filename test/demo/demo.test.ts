/**
 * The README's first command: `npm run demo` from a clean clone (sharing this
 * checkout's node_modules instead of a fresh `npm ci`) must start the server
 * and web UI, enroll and attest a fleet with one failing host, and leave no
 * process behind on Ctrl-C — with swtpm processes, and with the in-process
 * software TPMs it uses where swtpm is missing (--software-tpm forces them).
 */
import t, { type Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/free-port.js';

const checkout = fileURLToPath(new URL('../../..', import.meta.url));


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
  tpmvendor: string | null;
  state: string;
  lastReport: { outcome: string; errorCode: string | null; diagnosis: string | null } | null;
}

const work = await mkdtemp(join(tmpdir(), 'acs-demo-test-'));
t.teardown(() => rm(work, { recursive: true, force: true }));
const clone = join(work, 'clone');
execFileSync('git', ['clone', '--quiet', checkout, clone]);
await symlink(join(checkout, 'node_modules'), join(clone, 'node_modules'));
execFileSync('npm', ['run', 'build', '--silent'], { cwd: clone, stdio: 'ignore' });

interface DemoRun {
  output: string;
  machines: ApiMachine[];
  dataDir: string;
  /** The demo's TMPDIR: swtpm state goes there, so every swtpm process names it on its command line. */
  tmp: string;
  /** Sends Ctrl-C to the demo's process group and waits for the demo to exit. */
  interrupt(): Promise<string>;
}

/** Starts `npm run demo` in the clone and waits until the fleet shows three trusted machines and a failing one. */
async function runDemo(t: Test, name: string, args: string[]): Promise<DemoRun> {
  const [port, webPort] = [await freePort(), await freePort()];
  const dataDir = join(work, `data-${name}`);
  const tmp = join(work, `tmp-${name}`);
  await mkdir(tmp);
  const demo = spawn('npm', ['run', 'demo', '--silent', '--', '--port', String(port), '--web-port', String(webPort), '--dir', dataDir, '--interval', '2', ...args], {
    cwd: clone,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TMPDIR: tmp },
    detached: true,
  });
  let output = '';
  demo.stdout.on('data', (d) => (output += d));
  demo.stderr.on('data', (d) => (output += d));
  let gone = false;
  const exited = new Promise<void>((resolve) =>
    demo.once('exit', () => {
      gone = true;
      resolve();
    }),
  );
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
      } else if (gone) {
        clearTimeout(timer);
        reject(new Error(`the demo exited:\n${output}`));
      } else setTimeout(look, 200);
    };
    look();
  });
  t.equal(url, `http://127.0.0.1:${webPort}/`, 'the demo prints the web UI address');
  t.match(output, /no login: --web-auth off, on 127\.0\.0\.1 only/, 'and says it runs without login, on loopback only');

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
  return {
    output,
    machines,
    dataDir,
    tmp,
    async interrupt() {
      process.kill(-demo.pid!, 'SIGINT');
      await exited;
      // The processes the demo stopped may take a moment to leave the process table.
      await new Promise((r) => setTimeout(r, 1000));
      return output;
    },
  };
}

function checkFleet(t: Test, machines: ApiMachine[]): void {
  t.equal(machines.length, 4, '4 machines enrolled');
  t.ok(machines.filter((m) => m.state === 'trusted').length >= 3, 'at least three machines attested and trusted');
  const failing = machines.find((m) => m.state === 'failing');
  t.equal(failing?.hostname, 'tampered-1.demo.example', 'the tampered host is the failing one');
  t.equal(failing?.lastReport?.errorCode, '90000020', 'its logs do not reproduce the quote');
  t.match(failing?.lastReport?.diagnosis, /^Refused: the IMA log does not reproduce PCR 10 /, 'the diagnosis names PCR 10, not the firmware log');
}

t.test('npm run demo from a clean clone, with swtpm', async (t) => {
  const run = await runDemo(t, 'swtpm', []);
  checkFleet(t, run.machines);
  t.ok(run.machines.every((m) => m.tpmvendor === 'IBM '), 'every TPM is swtpm (manufacturer "IBM ")');
  t.ok(processesWith(run.dataDir).length >= 1, 'the server runs with the demo data directory');
  t.ok(processesWith(run.tmp).length >= 4, 'four software TPMs run');
  const output = await run.interrupt();
  t.match(output, /demo: stopped the server and 4 software TPMs/, 'Ctrl-C ends the demo cleanly');
  t.same(processesWith(run.dataDir), [], 'no server process left');
  t.same(processesWith(clone), [], 'no process of the clone left');
  t.same(processesWith(run.tmp), [], 'no software TPM left');
  t.comment(`demo: ${run.machines.length} machines, ${run.machines.filter((m) => m.state === 'trusted').length} trusted, 1 failing`);
});

t.test('npm run demo -- --software-tpm: in-process software TPMs, labelled as such', async (t) => {
  const run = await runDemo(t, 'software', ['--software-tpm']);
  checkFleet(t, run.machines);
  t.same(run.machines.map((m) => m.tpmvendor), ['DEMO', 'DEMO', 'DEMO', 'DEMO'], 'the machines list shows every TPM vendor as DEMO');
  t.match(run.output, /every host uses a software TPM \(in-process, not a real TPM\)/, 'the demo says its TPMs are not real');
  t.match(run.output, /demo: web-1\.demo\.example attested .*\[software TPM, not a real TPM\]/, 'and says so on every host line');
  const api = `${/web UI at (http:\/\/\S+)/.exec(run.output)![1]}api/machines/web-1.demo.example`;
  const machine = (await (await fetch(api)).json()) as { ekCertificate: { subject: string } };
  t.match(machine.ekCertificate.subject, /CN=Software TPM - demo only - not a TPM/, 'the machine page\'s EK certificate says it is no TPM');
  t.same(processesWith(run.tmp), [], 'no TPM process runs');
  t.ok(processesWith(run.dataDir).length >= 1, 'the server runs with the demo data directory');
  const output = await run.interrupt();
  t.match(output, /demo: stopped the server and 4 software TPMs \(in-process, not real TPMs\)/, 'Ctrl-C ends the demo cleanly');
  t.same(processesWith(run.dataDir), [], 'no server process left');
  t.same(processesWith(clone), [], 'no process of the clone left');
});
