/**
 * A MariaDB server of the test's own, so the test may kill it: a data
 * directory made by mariadb-install-db in a temp dir, mariadbd on a free
 * loopback port (root without a password), stopped with any signal and
 * started again on the same data directory and port. --no-defaults keeps the
 * system's my.cnf (its user, log and socket paths) out of it; `serverArgs`
 * adds options of the caller's (a Galera node's wsrep settings).
 *
 * mariadbd runs under a small sh watchdog reading our stdin: if this process
 * dies, the pipe closes and the watchdog kills mariadbd.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { freePort } from '../helpers/free-port.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const WATCHDOG = 'exec 3<&0; "$@" 3<&- </dev/null & p=$!; { read -r _ <&3; kill -9 $p 2>/dev/null; } & wait $p';

/** Who removes what a helper started: a tap Test, or the benchmark's own list. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export class MariaDbStartError extends Error {
  override name = 'MariaDbStartError';
}


export class MariaDbInstance {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Options appended to mariadbd's own on each start. */
  serverArgs: string[] = [];

  private constructor(readonly dir: string, readonly port: number) {}

  /** Installs a data directory and starts the server; stopped and removed when `t` ends. */
  static async create(t: Teardown, opts: { start?: boolean } = {}): Promise<MariaDbInstance> {
    const dir = await mkdtemp(join(tmpdir(), 'acs-mariadb-'));
    const db = new MariaDbInstance(dir, await freePort());
    t.teardown(() => db.destroy());
    try {
      await run('mariadb-install-db', [
        '--no-defaults', `--datadir=${db.dataDir}`, '--user=root', '--auth-root-authentication-method=normal',
        '--skip-test-db', '--innodb-log-file-size=8M', '--innodb-buffer-pool-size=32M',
      ]);
    } catch (e) {
      // A failure here usually ends the test file before its teardowns run.
      await db.destroy();
      throw new MariaDbStartError(`mariadb-install-db failed: ${(e as Error).message}`);
    }
    if (opts.start ?? true) await db.start().catch(async (e) => {
      await db.destroy();
      throw e;
    });
    return db;
  }

  /** Kills the server and removes its directory; safe to call again. */
  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** mysql:// URL of `database` on this server. */
  url(database: string): string {
    return `mysql://root@${HOST}:${this.port}/${database}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private args(logFile = 'error.log'): string[] {
    return ['--no-defaults',
      `--datadir=${this.dataDir}`, `--socket=${join(this.dir, 'mysqld.sock')}`, `--pid-file=${join(this.dir, 'mysqld.pid')}`,
      `--port=${this.port}`, `--bind-address=${HOST}`, '--user=root', `--log-error=${join(this.dir, logFile)}`,
      '--innodb-log-file-size=8M', '--innodb-buffer-pool-size=32M', '--max-connections=500', '--skip-name-resolve',
      ...this.serverArgs];
  }

  /** Runs mariadbd to completion with `extra` options (e.g. --wsrep-recover) while stopped; returns its error log. */
  async runOnce(extra: string[]): Promise<string> {
    if (this.child) throw new MariaDbStartError('already running');
    await run('mariadbd', [...this.args('once.log'), ...extra]);
    return readFile(join(this.dir, 'once.log'), 'utf8');
  }

  /** Starts mariadbd on the data directory and waits until it answers a query. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.child) throw new MariaDbStartError('already running');
    const child = spawn('sh', ['-c', WATCHDOG, 'mariadbd-watchdog', 'mariadbd', ...this.args()], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.unref();
    (child.stdin as unknown as { unref?(): void }).unref?.();
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new MariaDbStartError(`mariadbd exited: ${await this.errorLog()}`);
      try {
        const conn = await mysql.createConnection({ host: HOST, port: this.port, user: 'root', connectTimeout: 1000 });
        await conn.query('SELECT 1');
        await conn.end();
        return;
      } catch {
        if (Date.now() > until) throw new MariaDbStartError(`mariadbd not answering after ${timeoutMs} ms: ${await this.errorLog()}`);
        await sleep(50);
      }
    }
  }

  /** Sends `signal` to mariadbd itself (not the watchdog) and waits until it is gone. */
  async stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    const pid = Number((await readFile(join(this.dir, 'mysqld.pid'), 'utf8').catch(() => '')).trim());
    if (pid > 0) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    } else {
      child.kill('SIGKILL');
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  /** The last `count` lines of mariadbd's error log that `keep` matches. */
  async errorLog(count = 15, keep = /./): Promise<string> {
    return (await readFile(join(this.dir, 'error.log'), 'utf8').catch(() => '')).split('\n').filter((l) => keep.test(l)).slice(-count).join('\n');
  }
}
