/**
 * One acs-client run at a time per state directory: cron or the timer may
 * start a run while a slow one (a large first IMA upload) is still going.
 * The lock file is created exclusively (O_EXCL) and holds the owner's pid;
 * a lock whose process is gone (a run killed by SIGKILL) is taken over.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { LockHeldError, UsageError } from './exit-codes.js';

export const LOCK_FILE = 'acs-client.lock';

export interface RunLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function holder(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Takes the lock of `stateDir` (created 0700 if absent) or throws LockHeldError at once. */
export async function acquireRunLock(stateDir: string): Promise<RunLock> {
  const file = join(stateDir, LOCK_FILE);
  for (let tries = 0; ; tries++) {
    try {
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      const fh = await open(file, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new UsageError(`state directory ${stateDir}: ${code ?? (e as Error).message}`, { cause: e });
      const pid = await holder(file);
      // A lock being written has no pid yet: its owner is alive.
      if (tries > 0 || pid === undefined || alive(pid)) throw new LockHeldError(file, pid ?? 0);
      await unlink(file).catch(() => {});
    }
  }
  // Two runs that both found the same stale lock: the one whose pid is not in the file lost.
  const owner = await holder(file);
  if (owner !== process.pid) throw new LockHeldError(file, owner ?? 0);
  return {
    release: async () => {
      if ((await holder(file)) === process.pid) await unlink(file);
    },
  };
}
