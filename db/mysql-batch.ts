/**
 * Several statements in one round trip, for a transaction's deferred writes
 * (db/mysql-driver.ts): the connections allow multiple statements, and each
 * value in them was escaped by mysql2 from its placeholder.
 */
import type { PoolConnection as CallbackPoolConnection } from 'mysql2';
import { countRoundTrip } from './mysql-traffic.js';

/**
 * Sends `statements` as one query (text protocol) and resolves to the last
 * one's result. The server runs them in order and stops at the first that
 * fails, whose error this rejects with; an answer to fewer statements than
 * were sent is rejected too, as a lost conflict.
 */
export function queryMany(conn: CallbackPoolConnection, statements: readonly string[]): Promise<unknown> {
  countRoundTrip(statements.length);
  return new Promise((resolve, reject) => {
    conn.query(statements.join(';\n'), (err, result) => {
      if (err) return reject(err);
      if (statements.length === 1) return resolve(result);
      const answered = Array.isArray(result) ? result.length : 1;
      if (answered === statements.length) return resolve((result as unknown[])[answered - 1]);
      // A Galera brute-force abort can end a multi-statement query after a statement's
      // success, with no error: the rest, COMMIT included, never ran. The transaction
      // is lost as to a deadlock, and the remedy is the same.
      reject(Object.assign(new Error(`the server answered ${answered} of ${statements.length} statements: the transaction was aborted`), { code: 'ER_LOCK_DEADLOCK', errno: 1213 }));
    });
  });
}

