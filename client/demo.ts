#!/usr/bin/env node
/**
 * The demo fleet: an acs-server with its web UI on a fresh SQLite file, and
 * four hosts, each a TPM holding the sample firmware and IMA logs, that
 * enroll and attest every few seconds. One host sends a tampered IMA log so
 * the UI shows a failing machine beside healthy ones. Ctrl-C stops
 * everything it started.
 *
 * The TPMs are real swtpm processes when swtpm is installed, otherwise (or
 * with --software-tpm) in-process software TPMs, which are not TPMs: their
 * manufacturer is "DEMO", their EK certificates say so, and so does every
 * line the demo prints about them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { attest } from './attest.js';
import { enroll } from './enroll.js';
import { extendLogs } from './extend.js';
import { explain } from './commands/common.js';
import { SoftwareEkCa } from './simulator/software-ek-ca.js';
import { provisionSoftwareTpm, SOFTWARE_TPM_NOTICE } from './simulator/software-tpm-dir.js';
import { startSwtpm, type Swtpm } from './simulator/swtpm-process.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const serverCli = join(root, 'dist/server/cli.js');
const samples = join(root, 'test/fixtures/eventlogs');

const argv = await yargs(hideBin(process.argv))
  .scriptName('npm run demo --')
  .option('port', { type: 'number', default: 2323, describe: 'attestation port' })
  .option('web-port', { type: 'number', default: 8080, describe: 'web UI port' })
  .option('dir', { type: 'string', default: './acs-demo', describe: 'data directory (its database is recreated)' })
  .option('interval', { type: 'number', default: 10, describe: 'seconds between attestations' })
  .option('once', { type: 'boolean', default: false, describe: 'enroll and attest once, then exit' })
  .option('software-tpm', { type: 'boolean', default: false, describe: 'use in-process software TPMs (not real TPMs) even where swtpm is installed' })
  .strict()
  .help()
  .parseAsync();

const dir = resolve(argv.dir);
const children: ChildProcess[] = [];
/** One host's TPM: its TCTI, and how to stop it (a software TPM has no process to stop). */
interface DemoTpm {
  tcti: string;
  stop(): Promise<void>;
}
const tpms: DemoTpm[] = [];
let stopping = false;

const swtpmInstalled = !spawnSync('swtpm', ['--version']).error && !spawnSync('swtpm_setup', ['--version']).error;
const softwareTpm = argv['software-tpm'] || !swtpmInstalled;
/** Said after every line about a host, so no output of a software TPM passes for a TPM's. */
const tpmNote = softwareTpm ? ' [software TPM, not a real TPM]' : '';

async function shutdown(code: number): Promise<never> {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(tpms.map((t) => t.stop()));
  console.log(`demo: stopped the server and ${tpms.length} software TPMs${softwareTpm ? ' (in-process, not real TPMs)' : ''}`);
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

// The roots are the EK CAs of this run's TPMs only.
rmSync(join(dir, 'roots'), { recursive: true, force: true });
mkdirSync(join(dir, 'roots'), { recursive: true });
rmSync(join(dir, 'acs.db'), { force: true });
const init = spawnSync(process.execPath, [serverCli, 'init', '--ca-dir', join(dir, 'ca')], { stdio: 'inherit' });
if (init.status !== 0) process.exit(1);

const hosts = ['web-1.demo.example', 'db-1.demo.example', 'build-1.demo.example', 'tampered-1.demo.example'];
if (softwareTpm) {
  const why = argv['software-tpm'] ? '--software-tpm given' : 'swtpm is not installed ("apt-get install -y swtpm swtpm-tools" gives the demo swtpm processes)';
  console.log(`demo: ${why}: every host uses a ${SOFTWARE_TPM_NOTICE}`);
  const ca = await SoftwareEkCa.create(join(dir, 'roots'));
  for (const [i, hostname] of hosts.entries()) {
    const stateDir = join(dir, 'software-tpms', hostname);
    rmSync(stateDir, { recursive: true, force: true });
    await provisionSoftwareTpm(stateDir, { ca, label: hostname, ekAlg: i % 2 ? 'ecc' : 'rsa' });
    tpms.push({ tcti: `software:${stateDir}`, stop: async () => undefined });
  }
} else {
  console.log(`demo: starting ${hosts.length} software TPMs (swtpm)…`);
  const started: Swtpm[] = [];
  for (let i = 0; i < hosts.length; i++) {
    started.push(await startSwtpm());
    tpms.push(started[i]);
  }
  writeFileSync(join(dir, 'roots', 'swtpm-root.pem'), started[0].caCertPem);
  writeFileSync(join(dir, 'roots', 'swtpm-issuer.pem'), started[0].intermediateCertPem);
}

const server = spawn(
  process.execPath,
  [serverCli, '--port', String(argv.port), '--host', '127.0.0.1', '--db', `sqlite:${join(dir, 'acs.db')}`,
    '--ca-dir', join(dir, 'ca'), '--roots', join(dir, 'roots'), '--web-port', String(argv['web-port']),
    '--web-auth', 'off', '--ima-keys', join(samples, 'keys/imakey.der')],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
children.push(server);
server.once('exit', (code) => {
  if (!stopping) {
    console.error(`demo: acs-server exited (${code})`);
    void shutdown(1);
  }
});
await waitForPort(argv.port);

const biosLog = join(samples, 'bios/acs_tpm2bios.bin');
const imaLog = join(samples, 'ima/acs_imasig.bin');
const tamperedLog = join(dir, 'tampered_imasig.bin');
writeTamperedLog(imaLog, tamperedLog);
const server_ = { host: '127.0.0.1', port: argv.port };

for (const [i, hostname] of hosts.entries()) {
  const tpm = tpms[i];
  const stateDir = join(dir, 'clients', hostname);
  rmSync(stateDir, { recursive: true, force: true });
  await extendLogs({ tcti: tpm.tcti, biosLog, imaLog });
  await enroll({ server: server_, tcti: tpm.tcti, alg: i % 2 ? 'ecc' : 'rsa', hostname, stateDir });
}
console.log(`\ndemo: web UI at http://127.0.0.1:${argv['web-port']}/  (no login: --web-auth off, on 127.0.0.1 only; Ctrl-C stops the demo)\n`);

do {
  for (const [i, hostname] of hosts.entries()) {
    const stateDir = join(dir, 'clients', hostname);
    try {
      const r = await attest({
        server: server_, tcti: tpms[i].tcti, stateDir, userid: 'demo', bootTime: '2026-01-01 00:00:00',
        biosLog, imaLog: hostname.startsWith('tampered') ? tamperedLog : imaLog, imaHashAlg: 'sha1',
      });
      console.log(`demo: ${hostname} attested (${r.imaEvents} IMA events from ${r.imaEntry})${tpmNote}`);
    } catch (e) {
      console.log(`demo: ${hostname} failed: ${explain(e)}${tpmNote}`);
    }
  }
  if (argv.once) break;
  await new Promise((r) => setTimeout(r, argv.interval * 1000));
} while (!stopping);
await shutdown(0);

function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve()));
      s.once('error', () => (Date.now() > deadline ? reject(new Error(`acs-server did not listen on ${port}`)) : setTimeout(attempt, 200)));
    };
    attempt();
  });
}

/** The sample IMA log with one measured file renamed after measurement: its template hash no longer matches. */
function writeTamperedLog(from: string, to: string): void {
  copyFileSync(from, to);
  const bytes = readFileSync(to);
  const at = bytes.indexOf(Buffer.from('/usr/bin/bash'));
  if (at >= 0) bytes.write('/usr/bin/bosh', at, 'latin1');
  writeFileSync(to, bytes);
}
