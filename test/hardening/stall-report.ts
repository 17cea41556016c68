/**
 * What a test under load prints when its work does not finish in time:
 * each server's last log lines and the database's busy sessions and open
 * transactions, read on a connection of the test's own. A stalled run then
 * ends as a failure that says where it stood, not as the runner's timeout
 * of the whole file.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connectTo } from '../helpers/mariadb.js';
import type { ServerCli } from './server-cli.js';

const LOG_LINES = 8;

/** What the report reads of a server. */
export type ReportedServer = Pick<ServerCli, 'port' | 'pid' | 'log'>;

export class StallError extends Error {
  override name = 'StallError';
}

/** Busy sessions and open transactions of the MariaDB server behind `dbUrl`. */
async function databaseState(dbUrl: string): Promise<string> {
  const conn = await connectTo(dbUrl);
  try {
    const [busy] = await conn.query(
      "SELECT ID, DB, COMMAND, TIME, STATE, LEFT(INFO, 200) AS INFO FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep' AND ID <> CONNECTION_ID()",
    );
    const [trx] = await conn.query(
      'SELECT trx_mysql_thread_id, trx_state, trx_started, trx_wait_started, trx_rows_locked, LEFT(trx_query, 200) AS trx_query FROM information_schema.INNODB_TRX',
    );
    return `busy sessions: ${JSON.stringify(busy)}\nopen transactions: ${JSON.stringify(trx)}`;
  } finally {
    await conn.end();
  }
}

async function report(servers: readonly ReportedServer[], dbUrl: string): Promise<string> {
  const logs = servers.map((s) => {
    const tail = s.log.text.trimEnd().split('\n').slice(-LOG_LINES).join('\n');
    return `server :${s.port} (pid ${s.pid ?? 'gone'}), last log lines:\n${tail}`;
  });
  const db = await databaseState(dbUrl).catch((e: Error) => `database state unreadable: ${e.message}`);
  return [...logs, db].join('\n');
}

/** Resolves to `work`'s result, or rejects with a StallError carrying the report once `ms` pass first. */
export async function withinOrReport<T>(ms: number, what: string, work: Promise<T>, servers: readonly ReportedServer[], dbUrl: string): Promise<T> {
  const deadline = new AbortController();
  const stalled = sleep(ms, undefined, { signal: deadline.signal }).then(
    async () => {
      throw new StallError(`${what} did not finish within ${ms} ms\n${await report(servers, dbUrl)}`);
    },
    () => new Promise<never>(() => {}),
  );
  try {
    return await Promise.race([work, stalled]);
  } finally {
    deadline.abort();
  }
}
