/**
 * The statements a query (or a write) issues and the database's plan for each: EXPLAIN on
 * MySQL/MariaDB, EXPLAIN QUERY PLAN on SQLite. Tests match index names in them.
 */
import type { SqlDriver, SqlRow, SqlValue } from '../../db/driver.js';

export async function queryPlans(driver: SqlDriver, run: () => Promise<unknown>): Promise<string[]> {
  const issued: [string, readonly SqlValue[]][] = [];
  const all = driver.all.bind(driver);
  const write = driver.run.bind(driver);
  driver.all = (sql, params = []) => (issued.push([sql, params]), all(sql, params));
  driver.run = (sql, params = []) => (issued.push([sql, params]), write(sql, params));
  try {
    await run();
  } finally {
    driver.all = all;
    driver.run = write;
  }
  const mysql = driver.dialect === 'mysql';
  const out: string[] = [];
  for (const [sql, params] of issued) {
    const rows: SqlRow[] = await driver.all((mysql ? 'EXPLAIN ' : 'EXPLAIN QUERY PLAN ') + sql, params);
    out.push(rows.map((r) => (mysql ? `${r.table}: key=${r.key} ${r.Extra}` : String(r.detail))).join('; '));
  }
  return out;
}
