/**
 * The MySQL and SQLite schemas stay in lock-step: same tables, columns in the
 * same order with compatible types and nullability, same indexes and foreign
 * keys; the row codecs map every column; and the committed migrations build
 * exactly that schema in a real SQLite and a real MariaDB.
 */
import t from 'tap';
import { getTableConfig as mysqlConfig, type MySqlTable } from 'drizzle-orm/mysql-core';
import { getTableConfig as sqliteConfig, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as mysql from '../../db/schema/mysql.js';
import * as sqlite from '../../db/schema/sqlite.js';
import { PCR_COLUMNS } from '../../db/schema/columns.js';
import { attestationCodec, biosEventCodec, imaEventCodec, machineCodec, securityEventCodec } from '../../db/rows.js';
import { outboxCodec } from '../../db/alert-outbox.js';
import { policyCodec } from '../../db/policy-store.js';
import { describeSchema, type TableShape } from '../../db/introspect.js';
import { BACKENDS } from '../helpers/store-fixtures.js';

type Kind = 'integer' | 'boolean' | 'text' | 'time';

/** The portable meaning of each dialect's column type. */
const MYSQL_KIND: Record<string, Kind> = {
  MySqlInt: 'integer', MySqlBoolean: 'boolean', MySqlVarChar: 'text', MySqlChar: 'text', MySqlText: 'text',
  MySqlDateTimeString: 'time',
};
const SQLITE_KIND: Record<string, Kind> = { SQLiteInteger: 'integer', SQLiteBoolean: 'boolean', SQLiteText: 'text' };

interface Shape {
  columns: { name: string; kind: Kind; notNull: boolean; primary: boolean; generated: boolean }[];
  indexes: Record<string, { columns: string[]; unique: boolean }>;
  foreignKeys: string[];
}

function mysqlShape(table: MySqlTable): Shape {
  const c = mysqlConfig(table);
  return {
    columns: c.columns.map((col) => ({
      name: col.name, kind: MYSQL_KIND[col.columnType] ?? (col.columnType as Kind), notNull: col.notNull, primary: col.primary, generated: col.generated !== undefined,
    })),
    indexes: Object.fromEntries(c.indexes.map((i) => [i.config.name, { columns: i.config.columns.map((x) => (x as { name: string }).name), unique: !!i.config.unique }])),
    foreignKeys: c.foreignKeys.map((fk) => {
      const r = fk.reference();
      return `${r.columns.map((x) => x.name)} -> ${mysqlConfig(r.foreignTable).name}(${r.foreignColumns.map((x) => x.name)}) on delete ${fk.onDelete}`;
    }),
  };
}

function sqliteShape(table: SQLiteTable): Shape {
  const c = sqliteConfig(table);
  return {
    columns: c.columns.map((col) => ({
      name: col.name,
      // DATETIME columns are TEXT in SQLite; the MySQL side says which columns are times.
      kind: SQLITE_KIND[col.columnType] ?? (col.columnType as Kind),
      notNull: col.notNull,
      primary: col.primary,
      generated: col.generated !== undefined,
    })),
    indexes: Object.fromEntries(c.indexes.map((i) => [i.config.name, { columns: i.config.columns.map((x) => (x as { name: string }).name), unique: !!i.config.unique }])),
    foreignKeys: c.foreignKeys.map((fk) => {
      const r = fk.reference();
      return `${r.columns.map((x) => x.name)} -> ${sqliteConfig(r.foreignTable).name}(${r.foreignColumns.map((x) => x.name)}) on delete ${fk.onDelete}`;
    }),
  };
}

const TABLES = ['machines', 'attestlog', 'bioslog', 'imalog', 'security_events', 'alert_outbox', 'policies', 'policy_assignments'] as const;
/** The web UI's accounts (db/auth-store.ts): read and written without row codecs. */
const ACCOUNT_TABLES = ['web_users', 'web_sessions', 'api_tokens'] as const;
const ALL_TABLES = [...TABLES, ...ACCOUNT_TABLES] as const;
const mysqlShapes = Object.fromEntries(ALL_TABLES.map((n) => [n, mysqlShape(mysql[n])]));
const sqliteShapes = Object.fromEntries(ALL_TABLES.map((n) => [n, sqliteShape(sqlite[n])]));

t.test('both schemas declare the same tables, columns, indexes and keys', async (t) => {
  for (const name of ALL_TABLES) {
    const my = mysqlShapes[name]!;
    const lite = sqliteShapes[name]!;
    t.equal(mysqlConfig(mysql[name]).name, name);
    t.equal(sqliteConfig(sqlite[name]).name, name);
    t.same(lite.columns.map((c) => c.name), my.columns.map((c) => c.name), `${name}: same columns in the same order`);
    for (const [i, col] of my.columns.entries()) {
      const other = lite.columns[i]!;
      const compatible = col.kind === other.kind || (col.kind === 'time' && other.kind === 'text');
      t.ok(compatible, `${name}.${col.name}: ${col.kind} vs ${other.kind}`);
      t.equal(other.notNull, col.notNull, `${name}.${col.name}: same nullability`);
      t.equal(other.primary, col.primary, `${name}.${col.name}: same primary key`);
      t.equal(other.generated, col.generated, `${name}.${col.name}: generated in both or neither`);
    }
    t.same(lite.indexes, my.indexes, `${name}: same indexes`);
    t.same(lite.foreignKeys, my.foreignKeys, `${name}: same foreign keys`);
  }
});

t.test('IBM ACS columns are all there, in IBM order', async (t) => {
  const names = (n: string) => mysqlShapes[n]!.columns.map((c) => c.name);
  t.same(names('machines').slice(0, 13 + 48), [
    'id', 'hostname', 'tpmvendor', 'challenge', 'ekcertificatepem', 'ekcertificatetext', 'attestpub', 'akcertificatepem',
    'akcertificatetext', 'enrolled', 'boottime', 'imaevents', 'imapcr', ...PCR_COLUMNS,
  ]);
  t.same(names('attestlog').slice(0, 8 + 48 + 9), [
    'id', 'userid', 'hostname', 'boottime', 'timestamp', 'nonce', 'pcrselect', 'quote', ...PCR_COLUMNS,
    'pcrschanged', 'pcrinvalid', 'quoteverified', 'logverified', 'logentries', 'imaevents', 'imaver', 'imasigver', 'badimalog',
  ]);
  t.same(names('imalog').slice(0, 11), ['id', 'hostname', 'boottime', 'timestamp', 'entrynum', 'ima_entry', 'filename', 'badevent', 'nosig', 'nokey', 'badsig']);
  t.same(names('bioslog').slice(0, 10), ['id', 'hostname', 'timestamp', 'entrynum', 'bios_entry', 'pcrindex', 'pcrsha1', 'pcrsha256', 'eventtype', 'event']);
  t.equal(PCR_COLUMNS[0], 'pcr00sha256');
  t.equal(PCR_COLUMNS[47], 'pcr23sha1');
});

t.test('the row codecs map every column', async (t) => {
  const codecs = {
    machines: machineCodec, attestlog: attestationCodec, bioslog: biosEventCodec, imalog: imaEventCodec, security_events: securityEventCodec,
    alert_outbox: outboxCodec, policies: policyCodec,
  };
  // policy_assignments is read and written in db/policy-store.ts without a row codec.
  for (const name of ['machines', 'attestlog', 'bioslog', 'imalog', 'security_events', 'alert_outbox', 'policies'] as const) {
    // Generated columns are the database's to compute: no codec writes them.
    const schema = mysqlConfig(mysql[name]).columns.filter((c) => c.generated === undefined).map((c) => c.name);
    const mapped = codecs[name].columns;
    // Event rows are written in bulk and carry no id of their own.
    t.same([...mapped].sort(), schema.filter((c) => c !== 'id' || !['bioslog', 'imalog'].includes(name)).sort(), name);
  }
});

for (const backend of BACKENDS) {
  t.test(`migrations build the schema in ${backend.name}`, async (t) => {
    const store = await backend.open(t);
    const actual = await describeSchema(store.driver);
    t.same(Object.keys(actual).sort(), [...ALL_TABLES].sort());
    for (const name of ALL_TABLES) {
      const shape: TableShape = actual[name]!;
      t.same(shape.columns, mysqlShapes[name]!.columns.map((c) => c.name), `${name}: columns`);
      t.same(shape.indexes, mysqlShapes[name]!.indexes, `${name}: indexes`);
      if (backend.name === 'mariadb') {
        const collations = new Set(Object.values(shape.collations));
        t.same([...collations], ['utf8mb4_nopad_bin'], `${name}: every text column is utf8mb4, binary, no padding`);
      }
    }
  });
}
