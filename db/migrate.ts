/**
 * Applies the committed drizzle-kit migrations (db/migrations/<dialect>).
 * The folder is found from the package root, so the same code works from the
 * TypeScript sources and from dist/db after tsc.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import type { Connection } from 'mysql2/promise';
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

const MIGRATION_LOCK = 'acs_schema_migration';

/**
 * MySQL: one connection holds a named lock while migrating, so servers started
 * together do not apply the same migration twice (MySQL DDL is not transactional).
 */
export async function migrateMysql(conn: Connection): Promise<void> {
  const [rows] = await conn.query('SELECT GET_LOCK(?, 60) AS got', [MIGRATION_LOCK]);
  if ((rows as { got: number | null }[])[0]?.got !== 1) throw new Error('timed out waiting for the schema migration lock');
  try {
    await migrateMysql2(drizzleMysql({ client: conn }), { migrationsFolder: migrationsFolder('mysql') });
  } finally {
    await conn.query('SELECT RELEASE_LOCK(?)', [MIGRATION_LOCK]);
  }
}

/** SQLite: drizzle applies pending migrations inside one transaction. */
export function migrateSqlite(db: BetterSqlite3.Database): void {
  migrateBetterSqlite(drizzleSqlite({ client: db }), { migrationsFolder: migrationsFolder('sqlite') });
}
