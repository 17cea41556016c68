/**
 * The fleet-search indexes as the committed migration creates them, so the
 * search benchmark can seed without them (a bulk load is faster when the
 * indexes are built once afterwards), measure attestation without them, and
 * build them exactly as an upgrade would.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SqlDriver } from '../../db/driver.js';
import { migrationsFolder } from '../../db/migrate.js';

interface IndexStatement {
  name: string;
  table: string;
  create: string;
}

/** The search indexes as the migrations leave them: each CREATE INDEX, less those a later migration drops. */
function statements(dialect: 'mysql' | 'sqlite'): IndexStatement[] {
  const dir = migrationsFolder(dialect);
  const files = readdirSync(dir).filter((f) => /_(fleet_search_indexes|search_path_digest)\.sql$/.test(f)).sort();
  if (!files.length) throw new Error(`no fleet search index migration in ${dir}`);
  const out = new Map<string, IndexStatement>();
  for (const file of files) {
    for (const sql of readFileSync(join(dir, file), 'utf8').split('--> statement-breakpoint').map((s) => s.replace(/^--.*$/gm, '').trim()).filter(Boolean)) {
      const create = /^CREATE INDEX `([^`]+)` ON `([^`]+)`/.exec(sql);
      const alter = /^ALTER TABLE `([^`]+)`/.exec(sql);
      if (create) out.set(create[1]!, { name: create[1]!, table: create[2]!, create: sql });
      else if (/^DROP INDEX/.test(sql)) out.delete(/^DROP INDEX `([^`]+)`/.exec(sql)![1]!);
      else if (alter) {
        // ALTER TABLE t DROP INDEX a, ADD INDEX b (…): each clause on its own.
        for (const m of sql.matchAll(/DROP INDEX `([^`]+)`/g)) out.delete(m[1]!);
        for (const m of sql.matchAll(/ADD INDEX `([^`]+)` (\((?:[^()]|\(\d+\))*\))/g)) {
          out.set(m[1]!, { name: m[1]!, table: alter[1]!, create: `CREATE INDEX \`${m[1]}\` ON \`${alter[1]}\` ${m[2]}` });
        }
      } else throw new Error(`unexpected statement in ${file}: ${sql}`);
    }
  }
  return [...out.values()];
}

async function present(driver: SqlDriver, name: string): Promise<boolean> {
  const sql = driver.dialect === 'mysql'
    ? 'SELECT 1 AS x FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME = ? LIMIT 1'
    : "SELECT 1 AS x FROM sqlite_master WHERE type = 'index' AND name = ?";
  return (await driver.all(sql, [name])).length > 0;
}

/** Drops the search indexes that exist. */
export async function dropSearchIndexes(driver: SqlDriver): Promise<void> {
  for (const s of statements(driver.dialect)) {
    if (!(await present(driver, s.name))) continue;
    await driver.run(driver.dialect === 'mysql' ? `DROP INDEX \`${s.name}\` ON \`${s.table}\`` : `DROP INDEX \`${s.name}\``);
  }
}

/** Creates the missing search indexes; returns the milliseconds it took. */
export async function createSearchIndexes(driver: SqlDriver): Promise<number> {
  const started = performance.now();
  for (const s of statements(driver.dialect)) if (!(await present(driver, s.name))) await driver.run(s.create);
  return performance.now() - started;
}

export async function searchIndexesPresent(driver: SqlDriver): Promise<boolean> {
  for (const s of statements(driver.dialect)) if (!(await present(driver, s.name))) return false;
  return true;
}
