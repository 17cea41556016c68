/**
 * The storage the fleet search did not choose, built only to measure it: a
 * per-machine file inventory (path, digest, first/last seen, count) kept up
 * to date in the attestation's own transaction. The benchmarked server's
 * driver is wrapped (its code is untouched): after each multi-row INSERT
 * into imalog, the same connection upserts one inventory row per entry.
 * The table is keyed by machine, path digest and file digest, with the two
 * indexes its searches would need.
 */
import { createHash } from 'node:crypto';
import type { SqlDriver, SqlValue, TxConnection } from '../../db/driver.js';
import { imaEventCodec } from '../../db/rows.js';

const TABLE = 'bench_file_inventory';
const COLUMNS = ['machine_id', 'path_sha256', 'filehash', 'filename', 'first_seen', 'last_seen', 'seen'] as const;

const CREATE = {
  mysql: `CREATE TABLE IF NOT EXISTS ${TABLE} (machine_id INT UNSIGNED NOT NULL, path_sha256 CHAR(64) NOT NULL, filehash VARCHAR(160) NOT NULL,
    filename TEXT NOT NULL, first_seen DATETIME(3) NOT NULL, last_seen DATETIME(3) NOT NULL, seen INT UNSIGNED NOT NULL,
    PRIMARY KEY (machine_id, path_sha256, filehash), KEY ${TABLE}_hash (filehash, machine_id), KEY ${TABLE}_path (path_sha256, machine_id))
    ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  sqlite: `CREATE TABLE IF NOT EXISTS ${TABLE} (machine_id INTEGER NOT NULL, path_sha256 TEXT NOT NULL, filehash TEXT NOT NULL,
    filename TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, seen INTEGER NOT NULL,
    PRIMARY KEY (machine_id, path_sha256, filehash))`,
};
const SQLITE_INDEXES = [
  `CREATE INDEX IF NOT EXISTS ${TABLE}_hash ON ${TABLE} (filehash, machine_id)`,
  `CREATE INDEX IF NOT EXISTS ${TABLE}_path ON ${TABLE} (path_sha256, machine_id)`,
];

function upsertSql(dialect: 'mysql' | 'sqlite', rows: number): string {
  const values = Array(rows).fill(`(${COLUMNS.map(() => '?').join(', ')})`).join(', ');
  const insert = `INSERT INTO ${TABLE} (${COLUMNS.join(', ')}) VALUES ${values}`;
  return dialect === 'mysql'
    ? `${insert} ON DUPLICATE KEY UPDATE last_seen = VALUES(last_seen), seen = seen + 1`
    : `${insert} ON CONFLICT (machine_id, path_sha256, filehash) DO UPDATE SET last_seen = excluded.last_seen, seen = seen + 1`;
}

const pathKey = (filename: string) => createHash('sha256').update(filename).digest('hex');

/** Creates the inventory and fills it from the IMA rows already stored; returns the milliseconds it took. */
export async function buildInventory(driver: SqlDriver): Promise<number> {
  const started = performance.now();
  await driver.run(CREATE[driver.dialect]);
  if (driver.dialect === 'sqlite') for (const s of SQLITE_INDEXES) await driver.run(s);
  const path = driver.dialect === 'mysql' ? 'SHA2(filename, 256)' : null;
  if (path) {
    await driver.run(`INSERT IGNORE INTO ${TABLE} (${COLUMNS.join(', ')})
      SELECT machine_id, ${path}, COALESCE(filehash, ''), MIN(filename), MIN(timestamp), MAX(timestamp), COUNT(*)
      FROM imalog GROUP BY machine_id, ${path}, COALESCE(filehash, '')`);
  } else {
    // SQLite has no SHA-256 function: the rows pass through here, one machine at a time.
    for (const m of await driver.all('SELECT id FROM machines')) {
      const rows = await driver.all(
        `SELECT filename, COALESCE(filehash, '') AS filehash, MIN(timestamp) AS first_seen, MAX(timestamp) AS last_seen, COUNT(*) AS seen
         FROM imalog WHERE machine_id = ? GROUP BY filename, COALESCE(filehash, '')`,
        [m.id as number],
      );
      await driver.transaction(async (conn) => {
        for (const r of rows) {
          await conn.run(upsertSql('sqlite', 1), [m.id as number, pathKey(String(r.filename)), String(r.filehash), String(r.filename), String(r.first_seen), String(r.last_seen), Number(r.seen)]);
        }
      });
    }
  }
  return performance.now() - started;
}

export async function dropInventory(driver: SqlDriver): Promise<void> {
  await driver.run(`DROP TABLE IF EXISTS ${TABLE}`);
}

const INSERT_IMA = /^INSERT INTO `imalog` /;
const WIDTH = imaEventCodec.columns.length;
const at = (name: string) => imaEventCodec.columns.indexOf(name);
const [MACHINE, FILENAME, FILEHASH, TIMESTAMP] = [at('machine_id'), at('filename'), at('filehash'), at('timestamp')];

/** The inventory upsert that follows an imalog insert, if `sql` is one. */
function inventoryUpsert(sql: string, params: readonly SqlValue[], dialect: 'mysql' | 'sqlite'): [string, SqlValue[]] | undefined {
  if (!INSERT_IMA.test(sql)) return undefined;
  const values: SqlValue[] = [];
  for (let i = 0; i + WIDTH <= params.length; i += WIDTH) {
    const filename = String(params[i + FILENAME]);
    values.push(params[i + MACHINE]!, pathKey(filename), params[i + FILEHASH] ?? '', filename, params[i + TIMESTAMP]!, params[i + TIMESTAMP]!, 1);
  }
  return values.length ? [upsertSql(dialect, values.length / COLUMNS.length), values] : undefined;
}

/** A connection that upserts the inventory after every imalog insert, on the same transaction. */
function inventoryConn(conn: TxConnection, dialect: 'mysql' | 'sqlite'): TxConnection {
  return {
    all: (sql, params) => conn.all(sql, params),
    async run(sql, params = []) {
      const result = await conn.run(sql, params);
      const upsert = inventoryUpsert(sql, params, dialect);
      if (upsert) await conn.run(...upsert);
      return result;
    },
    defer(sql, params = []) {
      conn.defer(sql, params);
      const upsert = inventoryUpsert(sql, params, dialect);
      if (upsert) conn.defer(...upsert);
    },
  };
}

/** Makes every transaction of `driver` keep the inventory. */
export function keepInventory(driver: SqlDriver): void {
  const transaction = driver.transaction.bind(driver);
  driver.transaction = (fn) => transaction((conn) => fn(inventoryConn(conn, driver.dialect)));
}
