/**
 * `acs-client enroll` as a user runs it (node dist/client/cli.js): it enrolls
 * against a real server and swtpm, and when the TPM or the server cannot be
 * reached, or the server refuses, it prints one readable line naming the
 * cause and exits non-zero, without a stack trace.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { startTestServer } from '../helpers/acs-server.js';
import { machineRows } from '../helpers/machines-table.js';
import { startSwtpm } from '../helpers/swtpm.js';

const CLI = fileURLToPath(new URL('../../client/cli.js', import.meta.url));

const tpm = await startSwtpm({ t });
const server = await startTestServer(t, { trust: [tpm.caCertPem, tpm.intermediateCertPem] });
const scratch = await mkdtemp(join(tmpdir(), 'acs-enroll-cli-'));
t.teardown(() => rm(scratch, { recursive: true, force: true }));

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function enrollCli(opts: { server?: string; tpm?: string; hostname: string; ek: 'rsa' | 'ecc' }): Promise<CliRun> {
  const args = [
    CLI, 'enroll',
    '--server', opts.server ?? server.address,
    '--tpm', opts.tpm ?? tpm.tcti,
    '--state-dir', join(scratch, opts.hostname),
    '--hostname', opts.hostname,
    '--ek', opts.ek,
    '--timeout', '20',
    '--retries', '0',
  ];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function readableFailure(t: Test, run: CliRun, cause: RegExp): void {
  t.not(run.code, 0, `exit code ${run.code}`);
  t.match(run.stderr, /^acs-client: /, 'prefixed with the program name');
  t.match(run.stderr, cause);
  t.notMatch(run.stderr, /^\s+at /m, 'no stack trace');
}

t.test('enroll succeeds and exits 0', async (t) => {
  const run = await enrollCli({ hostname: 'cli.test', ek: 'rsa' });
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^enrolled cli\.test \(EK /);
  t.ok((await server.store.getMachine('cli.test'))?.enrolled, 'enrolled in the database');
});

t.test('a server refusal is reported with its code: the hostname is enrolled with another EK', async (t) => {
  const before = await machineRows(server.store);
  const run = await enrollCli({ hostname: 'cli.test', ek: 'ecc' });
  readableFailure(t, run, /server refused: 90000022 /);
  t.equal(run.code, 1, 'exit code 1: the server refused');
  t.strictSame(await machineRows(server.store), before, 'machines table unchanged');
});

t.test('an unreachable TPM', async (t) => {
  const before = await machineRows(server.store);
  const run = await enrollCli({ hostname: 'no-tpm.test', ek: 'rsa', tpm: `swtpm:127.0.0.1:${await closedPort()}` });
  readableFailure(t, run, /TPM unreachable: cannot connect to 127\.0\.0\.1:\d+/);
  t.equal(run.code, 3, 'exit code 3: TPM unavailable');
  t.strictSame(await machineRows(server.store), before, 'the server was never asked');
});

t.test('an unreachable server', async (t) => {
  const run = await enrollCli({ hostname: 'no-server.test', ek: 'rsa', server: `127.0.0.1:${await closedPort()}` });
  readableFailure(t, run, /server unreachable.*cannot connect to 127\.0\.0\.1:\d+: ECONNREFUSED/);
  t.equal(run.code, 4, 'exit code 4: server unreachable');
});
