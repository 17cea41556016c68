/**
 * Real software TPMs for tests and the demo fleet: each startSwtpm() provisions a fresh TPM 2.0
 * state with swtpm_setup (RSA-2048 and ECC P-384 EKs, their certificates in
 * the TCG EK Credential Profile NV indices 0x01c00002 and 0x01c00016) under
 * a local CA made once per process in a temp dir (never the system-wide
 * swtpm-localca), then runs `swtpm socket` on free loopback ports.
 *
 * swtpm is started under a small sh watchdog that reads our stdin: when this
 * process ends in any way (even SIGKILL) the pipe closes and the watchdog
 * kills swtpm, so no TPM process outlives the test.
 *
 * swtpm serves one data connection at a time: close a Tpm before opening
 * another on the same instance.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { swtpmPowerOn } from '../tpm/swtpm.js';
import { shutdown, startup } from '../tpm/commands/startup.js';
import { Tpm } from '../tpm/tpm.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';

export interface SwtpmOptions {
  /** PCR banks to activate (swtpm_setup --pcr-banks); default "sha1,sha256". */
  pcrBanks?: string;
  /** Provision EKs and their certificates (default true); false gives a TPM with neither. */
  ekCertificates?: boolean;
  /** Registers stop() with this owner, e.g. a tap test's teardown. */
  t?: { teardown(fn: () => unknown): void };
}

export interface Swtpm {
  /** e.g. "swtpm:127.0.0.1:40123" */
  tcti: string;
  host: string;
  port: number;
  ctrlPort: number;
  /** The test root CA that signed the EK certificates' issuer. */
  caCertPem: string;
  /** The intermediate CA that signed the EK certificates. */
  intermediateCertPem: string;
  stateDir: string;
  /** The swtpm process id. */
  pid: number;
  /** A reboot: power cycle (TPM_Init on the control channel), then TPM2_Startup(CLEAR). */
  restart(): Promise<void>;
  /** Ends the swtpm process; idempotent. */
  stop(): Promise<void>;
}

export class SwtpmStartError extends Error {
  override name = 'SwtpmStartError';
}

let root: string | undefined;

function tempRoot(): string {
  if (!root) {
    root = mkdtempSync(path.join(os.tmpdir(), 'acs-swtpm-'));
    const dir = root;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return root;
}

interface TestCa {
  setupConfig: string;
  dir: string;
}

let caPromise: Promise<TestCa> | undefined;

/** swtpm_setup and swtpm_localca configuration pointing into our temp dir (swtpm-localca.conf(5)). */
function testCa(): Promise<TestCa> {
  caPromise ??= (async () => {
    const base = path.join(tempRoot(), 'ca');
    mkdirSync(base, { recursive: true });
    const localcaConf = path.join(base, 'swtpm-localca.conf');
    const localcaOpts = path.join(base, 'swtpm-localca.options');
    const setupConfig = path.join(base, 'swtpm_setup.conf');
    writeFileSync(
      localcaConf,
      [`statedir = ${base}`, `signingkey = ${base}/signkey.pem`, `issuercert = ${base}/issuercert.pem`, `certserial = ${base}/certserial`, ''].join('\n'),
    );
    writeFileSync(localcaOpts, '--platform-manufacturer ACS-Test\n--platform-version 2.1\n--platform-model swtpm\n');
    writeFileSync(
      setupConfig,
      [`create_certs_tool = /usr/bin/swtpm_localca`, `create_certs_tool_config = ${localcaConf}`, `create_certs_tool_options = ${localcaOpts}`, ''].join('\n'),
    );
    return { setupConfig, dir: base };
  })();
  return caPromise;
}

/** swtpm_localca creates its CA on first use; provisioning is serialized so that happens once. */
let provisioning: Promise<unknown> = Promise.resolve();

async function provision(stateDir: string, pcrBanks: string, ekCertificates: boolean): Promise<TestCa> {
  const ca = await testCa();
  const job = provisioning.then(() =>
    run('swtpm_setup', [
      '--tpm2', ...(ekCertificates ? ['--create-ek-cert'] : []), '--tpm-state', stateDir, '--config', ca.setupConfig,
      '--pcr-banks', pcrBanks, '--logfile', path.join(stateDir, 'setup.log'),
    ]).catch((err: Error) => {
      let log = '';
      try {
        log = readFileSync(path.join(stateDir, 'setup.log'), 'utf8');
      } catch { /* no log written */ }
      throw new SwtpmStartError(`swtpm_setup failed: ${err.message}\n${log}`);
    }),
  );
  provisioning = job.catch(() => undefined);
  await job;
  return ca;
}

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, HOST, () => s.close(() => resolve(true)));
  });
}

/** A port P from the kernel's ephemeral range such that P+1 (the control port) is free too. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, HOST, () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (port < 65535 && (await listenable(port + 1))) return port;
  }
}

const WATCHDOG = 'exec 3<&0; "$@" 3<&- </dev/null & p=$!; { read -r _ <&3; kill $p 2>/dev/null; } & wait $p';

function spawnSwtpm(stateDir: string, port: number): ChildProcess {
  const child = spawn('sh', ['-c', WATCHDOG, 'swtpm-watchdog', 'swtpm', 'socket', '--tpm2',
    '--tpmstate', `dir=${stateDir}`,
    '--server', `type=tcp,port=${port},bindaddr=${HOST}`,
    '--ctrl', `type=tcp,port=${port + 1},bindaddr=${HOST}`,
    '--flags', 'not-need-init,startup-clear',
    '--log', `file=${path.join(stateDir, 'swtpm.log')},level=1`,
    '--pid', `file=${path.join(stateDir, 'swtpm.pid')}`,
  ], { stdio: ['pipe', 'ignore', 'ignore'] });
  // A forgotten stop() must not keep this process alive; its exit closes the pipe and the watchdog ends swtpm.
  child.unref();
  (child.stdin as unknown as { unref?(): void }).unref?.();
  return child;
}

/** Waits until swtpm accepts connections on its control port, or exits. */
async function waitListening(child: ChildProcess, ctrlPort: number): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(ctrlPort, HOST);
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => (clearTimeout(timer), resolve()));
    child.stdin?.end();
  });
}

/** swtpm writes its pid file after it starts listening, so under load the file may lag the open control port. */
async function readPidFile(file: string): Promise<number> {
  for (let waited = 0; waited < 5000; waited += 20) {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0) return pid;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new SwtpmStartError(`swtpm wrote no pid to ${file}`);
}

export async function startSwtpm(opts: SwtpmOptions = {}): Promise<Swtpm> {
  const stateDir = mkdtempSync(path.join(tempRoot(), 'tpm-'));
  const ca = await provision(stateDir, opts.pcrBanks ?? 'sha1,sha256', opts.ekCertificates ?? true);
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePortPair();
    const c = spawnSwtpm(stateDir, port);
    if (await waitListening(c, port + 1)) child = c;
    else await stopChild(c);
  }
  if (!child) {
    let log = '';
    try {
      log = readFileSync(path.join(stateDir, 'swtpm.log'), 'utf8');
    } catch { /* no log written */ }
    throw new SwtpmStartError(`swtpm did not start:\n${log}`);
  }
  const proc = child;
  const tcti = `swtpm:${HOST}:${port}`;
  const instance: Swtpm = {
    tcti,
    host: HOST,
    port,
    ctrlPort: port + 1,
    caCertPem: readFileSync(path.join(ca.dir, 'swtpm-localca-rootca-cert.pem'), 'utf8'),
    intermediateCertPem: readFileSync(path.join(ca.dir, 'issuercert.pem'), 'utf8'),
    stateDir,
    pid: await readPidFile(path.join(stateDir, 'swtpm.pid')),
    async restart() {
      // An orderly TPM2_Shutdown first: a power loss without it counts against dictionary-attack lockout.
      const before = await Tpm.open(tcti);
      try {
        await shutdown(before).catch(() => undefined);
      } finally {
        await before.close();
      }
      await swtpmPowerOn(HOST, port + 1);
      const tpm = await Tpm.open(tcti);
      try {
        await startup(tpm);
      } finally {
        await tpm.close();
      }
    },
    stop: () => stopChild(proc),
  };
  opts.t?.teardown(instance.stop);
  return instance;
}
