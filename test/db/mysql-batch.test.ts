/**
 * Several statements in one round trip (db/mysql-batch.ts): the last one's
 * result on a real MariaDB connection, the server's error when one fails
 * (and nothing after it runs), and an answer cut short — as a Galera
 * brute-force abort leaves it, with no error — rejected as a lost conflict,
 * never taken for a COMMIT that happened.
 */
import t from 'tap';
import mysql from 'mysql2';
import type { PoolConnection } from 'mysql2';
import { queryMany } from '../../db/mysql-batch.js';
import { isConflict } from '../../db/mysql-errors.js';
import { freshMariaDb } from '../helpers/mariadb.js';
import { storeLocation } from '../../db/open.js';

t.test('a connection that answers fewer statements than were sent: a lost conflict', async (t) => {
  const cutShort = { query: (_sql: string, cb: (err: null, result: unknown) => void) => cb(null, { affectedRows: 1 }) } as unknown as PoolConnection;
  const err = await queryMany(cutShort, ['UPDATE a SET x = 1', 'UPDATE b SET y = 2', 'COMMIT']).catch((e) => e);
  t.match(err, { message: /answered 1 of 3 statements/ });
  t.ok(isConflict(err), 'retried like a deadlock');
  const two = { query: (_sql: string, cb: (err: null, result: unknown) => void) => cb(null, [{ affectedRows: 1 }, { affectedRows: 1 }]) } as unknown as PoolConnection;
  t.ok(isConflict(await queryMany(two, ['A', 'B', 'COMMIT']).catch((e) => e)), 'two answers of three: the same');
});

t.test('on MariaDB', async (t) => {
  const db = await freshMariaDb();
  t.teardown(db.drop);
  const where = storeLocation(db.url, {});
  if (where.dialect !== 'mysql') throw new Error('not a MySQL URL');
  const { nodes: [node], user, password, socketPath, database } = where.mysql;
  const conn = mysql.createConnection({ host: node!.host, port: node!.port, socketPath, user, password, database, multipleStatements: true }) as unknown as PoolConnection;
  t.teardown(() => new Promise<void>((r) => conn.end(() => r())));
  await queryMany(conn, ['CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))']);

  const last = await queryMany(conn, ['START TRANSACTION', "INSERT INTO t VALUES (1, 'a')", "INSERT INTO t VALUES (2, 'b')", 'SELECT COUNT(*) AS n FROM t', 'COMMIT']);
  t.match(last, { affectedRows: 0 }, 'the COMMIT\'s answer is the one returned');
  t.same(await queryMany(conn, ['SELECT id, v FROM t ORDER BY id']), [{ id: 1, v: 'a' }, { id: 2, v: 'b' }], 'the writes committed');

  const err = (await queryMany(conn, ['START TRANSACTION', "INSERT INTO t VALUES (3, 'c')", "INSERT INTO t VALUES (1, 'dup')", 'COMMIT']).catch((e: unknown) => e)) as { code?: string };
  t.equal(err.code, 'ER_DUP_ENTRY', 'the failing statement\'s error');
  await queryMany(conn, ['ROLLBACK']);
  t.same(await queryMany(conn, ['SELECT id FROM t ORDER BY id']), [{ id: 1 }, { id: 2 }], 'nothing after it ran: row 3 was never committed');
});
