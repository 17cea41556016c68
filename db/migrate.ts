/**
 * Applies the committed drizzle-kit migrations (db/migrations/<dialect>).
 * The folder is found from the package root, so the same code works from the
 * TypeScript sources and from dist/db after tsc.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import type { Connection } from 'mysql2/promise';
import { DrizzleError, DrizzleQueryError } from 'drizzle-orm';
import { drizzle as drizzleMysql } from 'drizzle-orm/mysql2';
import { migrate as migrateMysql2 } from 'drizzle-orm/mysql2/migrator';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { migrate as migrateBetterSqlite } from 'drizzle-orm/better-sqlite3/migrator';

/** The migrations folder for a dialect, searched upwards from this file to the package root. */
export function migrationsFolder(dialect: 'mysql' | 'sqlite'): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'db', 'migrations', dialect);
    if (existsSync(join(candidate, 'meta', '_journal.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`db/migrations/${dialect} not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/**
 * The schema migration lock: one row in a table of its own. GET_LOCK is not
 * used because MariaDB Galera does not replicate it — each node grants its
 * own — whereas a row's primary key is enforced cluster-wide: of two servers
 * inserting the lock row through different nodes, the second gets a duplicate
 * key, or loses Galera certification (1213) when both commit at once. A row
 * left behind by a migrator that died expires after LOCK_LEASE_S.
 */
const LOCK_TABLE = '__acs_migration_lock';
const LOCK_LEASE_S = 600;
const LOCK_WAIT_MS = 120_000;
const LOCK_POLL_MS = 200;

interface LockError { errno?: number }
/** 1062 duplicate key: another holds the lock; 1213: lost certification to another taking it. */
const LOCK_TAKEN = new Set([1062, 1213]);

async function takeMigrationLock(conn: Connection, holder: string): Promise<void> {
  await conn.query(`CREATE TABLE IF NOT EXISTS \`${LOCK_TABLE}\` (
    id TINYINT UNSIGNED NOT NULL PRIMARY KEY, holder VARCHAR(64) NOT NULL, expires DATETIME(3) NOT NULL
  ) ENGINE=InnoDB`);
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    await conn.query(`DELETE FROM \`${LOCK_TABLE}\` WHERE id = 1 AND expires < UTC_TIMESTAMP(3)`);
    try {
      await conn.query(`INSERT INTO \`${LOCK_TABLE}\` (id, holder, expires) VALUES (1, ?, UTC_TIMESTAMP(3) + INTERVAL ${LOCK_LEASE_S} SECOND)`, [holder]);
      return;
    } catch (e) {
      if (!LOCK_TAKEN.has((e as LockError).errno ?? 0)) throw e;
    }
    if (Date.now() > until) throw new Error('timed out waiting for the schema migration lock');
    await sleep(LOCK_POLL_MS * (0.5 + Math.random()));
  }
}

/**
 * MySQL: one server at a time applies the pending migrations (MySQL DDL is
 * not transactional), under the migration lock; on Galera every DDL statement
 * is replicated in total order (TOI) to all nodes, so migrating through any
 * one node migrates the cluster.
 */
export async function migrateMysql(conn: Connection): Promise<void> {
  const holder = randomUUID();
  await takeMigrationLock(conn, holder);
  try {
    await migrateMysql2(drizzleMysql({ client: conn }), { migrationsFolder: migrationsFolder('mysql') });
  } finally {
    await conn.query(`DELETE FROM \`${LOCK_TABLE}\` WHERE id = 1 AND holder = ?`, [holder]);
  }
}

/** SQLite: drizzle applies pending migrations inside one transaction. */
export function migrateSqlite(db: BetterSqlite3.Database): void {
  migrateBetterSqlite(drizzleSqlite({ client: db }), { migrationsFolder: migrationsFolder('sqlite') });
}

/**
 * The database's own error inside drizzle's "Failed query" / "Failed to run
 * the query" wrapper, which says only which statement failed; the database's
 * message says why (a duplicate key names its key and value).
 */
export function migrationCause(e: unknown): unknown {
  return (e instanceof DrizzleQueryError || e instanceof DrizzleError) && e.cause !== undefined ? e.cause : e;
}
