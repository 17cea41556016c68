/**
 * Upgrading a database that already holds one EK under two enrolled
 * hostnames (written before the unique key existed), on MariaDB and SQLite:
 * the migration that adds machines_enrolled_ek_uq stops with an error that
 * says what is wrong and leaves the schema as it was (MariaDB: before any
 * DDL, which it cannot roll back; SQLite: in its transaction), so once the
 * operator un-enrolls one of them the same migration runs through.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { drizzle } from 'drizzle-orm/mysql2';
import { migrate } from 'drizzle-orm/mysql2/migrator';
import Database from 'better-sqlite3';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { migrate as migrateSqlite } from 'drizzle-orm/better-sqlite3/migrator';
import t from 'tap';
import { migrationsFolder } from '../../db/migrate.js';
import { openStore } from '../../db/open.js';
import { freshMariaDb } from '../helpers/mariadb.js';

/** The committed MySQL migrations up to, not including, the one that adds the key. */
async function migrationsBefore(dialect: 'mysql' | 'sqlite', tag: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'acs-migrations-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await cp(migrationsFolder(dialect), dir, { recursive: true });
  const journalFile = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalFile, 'utf8')) as { entries: { tag: string }[] };
  journal.entries = journal.entries.slice(0, journal.entries.findIndex((e) => e.tag === tag));
  await writeFile(journalFile, JSON.stringify(journal));
  return dir;
}

const db = await freshMariaDb();
t.teardown(db.drop);
const url = new URL(db.url);
const conn = await mysql.createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username) || 'root', database: db.database });
t.teardown(() => conn.end());
await migrate(drizzle({ client: conn }), { migrationsFolder: await migrationsBefore('mysql', '0004_one_ek_one_host') });

const EK = 'ab'.repeat(32);
/** Two enrolled machines with one EK, as a server before the key could write them. */
const TWINS = `INSERT INTO machines (id, hostname, tpmvendor, ekcertificatepem, ekcertificatetext, attestpub, enrolled, ek_fingerprint, ek_alg, ak_name, ak_alg, created_at, updated_at)
  VALUES (1, 'twin1.example', 'IBM ', 'pem', 'text', 'aa', '2026-01-01 00:00:00.000', '${EK}', 'rsa2048', '000b01', 'rsa', '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000'),
         (2, 'twin2.example', 'IBM ', 'pem', 'text', 'aa', '2026-01-01 00:00:00.000', '${EK}', 'rsa2048', '000b02', 'rsa', '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000')`;
await conn.query(TWINS);
const columns = async () => ((await conn.query('SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [db.database, 'machines']))[0] as { c: string }[]).map((r) => r.c);

t.test('the migration stops before any DDL, naming the fault and the EK', async (t) => {
  const before = await columns();
  const err = await openStore(db.url).then((s) => s.close().then(() => undefined), (e: unknown) => e);
  t.match(err, { message: /Duplicate entry 'abab[0-9a-f]*' for key 'one_EK_enrolled_under_several_hostnames_see_README'/ });
  t.same(await columns(), before, 'no column was added');
});

t.test('after the operator un-enrolls one of them, the migration runs through', async (t) => {
  await conn.query('UPDATE machines SET enrolled = NULL WHERE id = 2');
  const store = await openStore(db.url);
  t.teardown(() => store.close());
  t.ok((await columns()).includes('enrolled_ek_fingerprint'));
  t.match(await store.getMachine('twin1.example'), { enrolled: Date });
  t.match(await store.getMachine('twin2.example'), { enrolled: null });
});

t.test('SQLite: the migration rolls back, then runs through once one is un-enrolled', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acs-ek-sqlite-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'acs.db');
  const lite = new Database(path);
  migrateSqlite(drizzleSqlite({ client: lite }), { migrationsFolder: await migrationsBefore('sqlite', '0003_one_ek_one_host') });
  lite.exec(TWINS);
  const liteColumns = () => (lite.prepare("SELECT name FROM pragma_table_xinfo('machines')").all() as { name: string }[]).map((r) => r.name);
  const before = liteColumns();
  const err = await openStore(`sqlite:${path}`).then((s) => s.close().then(() => undefined), (e: unknown) => e);
  t.match(err, { message: /UNIQUE constraint failed: machines\.enrolled_ek_fingerprint/ });
  t.same(liteColumns(), before, 'no column was added');
  lite.exec('UPDATE machines SET enrolled = NULL WHERE id = 2');
  lite.close();
  const store = await openStore(`sqlite:${path}`);
  t.teardown(() => store.close());
  t.match(await store.getMachine('twin1.example'), { enrolled: Date });
});
