/**
 * The databases a benchmark run measures, chosen like the server chooses its
 * own: `--db URL` (repeatable), else IBM ACS's ACS_SQL_* variables, else a
 * fresh MariaDB database on the local server (when one answers; over its
 * Unix socket when that is on this machine) and a SQLite file in a temporary
 * directory. Databases the benchmark created are dropped
 * afterwards; ones it was given are left alone.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshMariaDb, serverSocket } from '../helpers/mariadb.js';
import type { FailoverControl } from './failover.js';

export interface BenchDatabase {
  /** Short name for tables: "mariadb", "sqlite", "mysql://…" without credentials, "ACS_SQL_*". */
  label: string;
  dialect: 'mysql' | 'sqlite';
  /** Passed to the server as `db`; undefined means the ACS_SQL_* environment. */
  url: string | undefined;
  dispose(): Promise<void>;
  /** A node of it the benchmark may kill and restart, to measure a failover. */
  failover?: FailoverControl;
}

function redacted(url: string): string {
  if (url.startsWith('sqlite:')) return url;
  try {
    const u = new URL(url);
    u.password = '';
    u.username = '';
    return u.href;
  } catch {
    return '(unparsable URL)';
  }
}

async function sqliteTempFile(): Promise<BenchDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'acs-bench-sqlite-'));
  return {
    label: 'sqlite',
    dialect: 'sqlite',
    url: `sqlite:${join(dir, 'bench.db')}`,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Resolves the databases to run against; `notes` collects why one was skipped. */
export async function benchDatabases(urls: readonly string[], env: NodeJS.ProcessEnv, notes: string[]): Promise<BenchDatabase[]> {
  if (urls.length > 0) {
    return urls.map((url) => ({
      label: url.startsWith('sqlite:') ? `sqlite (${url.slice(7)})` : redacted(url),
      dialect: url.startsWith('sqlite:') ? 'sqlite' : 'mysql',
      url,
      dispose: async () => {},
    }));
  }
  if (Object.keys(env).some((k) => k.startsWith('ACS_SQL_'))) {
    return [{ label: `ACS_SQL_* (${env.ACS_SQL_HOST ?? 'localhost'}/${env.ACS_SQL_DATABASE ?? 'tpm2'})`, dialect: 'mysql', url: undefined, dispose: async () => {} }];
  }
  const out: BenchDatabase[] = [];
  try {
    const fresh = await freshMariaDb();
    // A server on this machine is reached as its users would deploy it: over its Unix socket.
    const socket = await serverSocket().catch(() => '');
    const url = new URL(fresh.url);
    if (socket && existsSync(socket)) url.searchParams.set('socket', socket);
    else notes.push('MariaDB reached over TCP: its Unix socket is not on this machine');
    out.push({ label: 'mariadb', dialect: 'mysql', url: url.href, dispose: fresh.drop });
  } catch (e) {
    notes.push(`MariaDB not reachable (${(e as Error).message}); measured SQLite only`);
  }
  out.push(await sqliteTempFile());
  return out;
}
