/**
 * The packaged client for tests: dist/pkg/ as `npm run package` leaves it
 * (.ci/run builds it before the tests). When it is missing, the first test
 * that needs it builds it once; a test running beside it waits.
 */
import { execFile } from 'node:child_process';
import { access, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const PKG_DIR = join(ROOT, 'dist/pkg');
export const EXECUTABLE = join(PKG_DIR, 'acs-client');
export const BUNDLE_META = join(PKG_DIR, 'bundle-meta.json');

export async function packageVersion(): Promise<string> {
  return (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export async function debFile(): Promise<string> {
  return join(PKG_DIR, `acs-client_${await packageVersion()}_amd64.deb`);
}

const exists = (p: string) => access(p).then(() => true, () => false);

/** Builds dist/pkg once if absent; returns when the executable and the .deb are there. */
export async function ensurePackage(): Promise<void> {
  const deb = await debFile();
  const lock = join(ROOT, 'dist/.pkg-building');
  for (;;) {
    if ((await exists(EXECUTABLE)) && (await exists(deb)) && !(await exists(lock))) return;
    try {
      await mkdir(lock);
    } catch {
      await sleep(1000);
      continue;
    }
    try {
      await run(process.execPath, [join(ROOT, 'dist/client/packaging/build.js')], { timeout: 600_000 });
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}
