import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { getManufacturer } from '../../client/tpm/commands/capability.js';
import { ensureStarted, startup } from '../../client/tpm/commands/startup.js';
import { swtpmPowerOn, swtpmShutdown, swtpmStop } from '../../client/tpm/swtpm.js';
import { Tpm } from '../../client/tpm/tpm.js';
import { startSwtpm } from './swtpm.js';

const run = promisify(execFile);
const helper = fileURLToPath(new URL('./swtpm.js', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  return !alive(pid);
}

t.test('two instances share one test CA, and stop() ends the process', async (t) => {
  const [a, b] = await Promise.all([startSwtpm({ t }), startSwtpm({ t })]);
  t.not(a.port, b.port);
  t.equal(a.caCertPem, b.caCertPem, 'one CA per test process');
  const root = new X509Certificate(a.caCertPem);
  const intermediate = new X509Certificate(a.intermediateCertPem);
  t.ok(intermediate.verify(root.publicKey), 'intermediate is signed by the root');
  t.ok(alive(a.pid));
  await a.stop();
  t.ok(await gone(a.pid), 'swtpm ended');
  await a.stop();
});

t.test('control channel: stop, power on, startup, shutdown', async (t) => {
  const s = await startSwtpm({ t });
  let tpm = await Tpm.open(s.tcti);
  await swtpmStop(s.host, s.ctrlPort);
  await t.rejects(getManufacturer(tpm), { name: 'TpmError', code: 'TPM_RC_FAILURE' }, 'a stopped TPM fails commands');
  await tpm.close();
  await swtpmPowerOn(s.host, s.ctrlPort);
  tpm = await Tpm.open(s.tcti);
  await t.rejects(getManufacturer(tpm), { name: 'TpmError', code: 'TPM_RC_INITIALIZE' }, 'powered on, not started');
  await ensureStarted(tpm);
  await ensureStarted(tpm);
  t.equal(await getManufacturer(tpm), 'IBM ');
  await t.rejects(startup(tpm), { code: 'TPM_RC_INITIALIZE' }, 'a second Startup is an error ensureStarted hides');
  await tpm.close();
  await swtpmShutdown(s.host, s.ctrlPort);
  t.ok(await gone(s.pid), 'CMD_SHUTDOWN ends swtpm');
});

// A test process that ends without stop(), normally or by SIGKILL, leaves no swtpm behind.
for (const ending of ['exit', 'SIGKILL'] as const) {
  t.test(`no swtpm outlives a test process that ends by ${ending}`, async (t) => {
    const script = `
      const { startSwtpm } = await import(${JSON.stringify(helper)});
      const s = await startSwtpm();
      console.log(s.pid, s.stateDir);
      ${ending === 'SIGKILL' ? 'process.kill(process.pid, "SIGKILL");' : ''}
    `;
    const out = await run(process.execPath, ['--input-type=module', '-e', script]).catch((e: { stdout: string }) => e);
    const [pidText, stateDir] = out.stdout.trim().split(' ');
    const pid = Number(pidText);
    t.ok(pid > 0, `swtpm pid ${pid}`);
    t.ok(await gone(pid), 'swtpm ended with its test process');
    // A SIGKILLed process cannot remove its temp dir; an exiting one does.
    t.equal(existsSync(stateDir), ending === 'SIGKILL');
    rmSync(path.dirname(stateDir), { recursive: true, force: true });
  });
}
