/**
 * What the database actually holds after migration: tables, columns in order,
 * secondary indexes, and (MySQL) column collations. Used to check that the
 * committed migrations produce the drizzle schema in both dialects.
 */
import type { SqlDriver, SqlRow } from './driver.js';

export interface TableShape {
  columns: string[];
  /** Index name → its columns in order; primary keys left out. */
  indexes: Record<string, { columns: string[]; unique: boolean }>;
  /** Collations of the text columns (MySQL only; SQLite compares bytes). */
  collations: Record<string, string>;
}

const SQL = {
  mysql: {
    columns: `SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name, COLLATION_NAME AS collation_name
      FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    indexes: `SELECT TABLE_NAME AS table_name, INDEX_NAME AS index_name, NON_UNIQUE = 0 AS is_unique, COLUMN_NAME AS column_name
      FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME <> 'PRIMARY'
      ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
  },
  // table_xinfo lists generated columns too (hidden 2 and 3); table_info leaves them out.
  sqlite: {
    columns: `SELECT m.name AS table_name, p.name AS column_name, NULL AS collation_name
      FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p WHERE m.type = 'table' AND p.hidden IN (0, 2, 3) ORDER BY m.name, p.cid`,
    indexes: `SELECT m.name AS table_name, l.name AS index_name, l."unique" AS is_unique, i.name AS column_name
      FROM sqlite_master m JOIN pragma_index_list(m.name) l JOIN pragma_index_info(l.name) i
      WHERE m.type = 'table' AND l.origin <> 'pk' ORDER BY m.name, l.name, i.seqno`,
  },
};

/** The application tables (bookkeeping: drizzle's migrations table, the migration lock, SQLite internals left out). */
export async function describeSchema(driver: SqlDriver): Promise<Record<string, TableShape>> {
  const sql = SQL[driver.dialect];
  const tables: Record<string, TableShape> = {};
  const table = (r: SqlRow): TableShape | undefined => {
    const name = String(r.table_name);
    if (name.startsWith('__') || name.startsWith('sqlite_')) return undefined;
    return (tables[name] ??= { columns: [], indexes: {}, collations: {} });
  };
  for (const r of await driver.all(sql.columns)) {
    const t = table(r);
    if (!t) continue;
    t.columns.push(String(r.column_name));
    if (r.collation_name) t.collations[String(r.column_name)] = String(r.collation_name);
  }
  for (const r of await driver.all(sql.indexes)) {
    const t = table(r);
    if (!t) continue;
    const index = (t.indexes[String(r.index_name)] ??= { columns: [], unique: Number(r.is_unique) === 1 });
    index.columns.push(String(r.column_name));
  }
  return tables;
}
