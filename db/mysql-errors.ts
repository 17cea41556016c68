/**
 * What a MySQL/MariaDB error means to the store: a StoreError with its wire
 * code, and whether the statement failed because of the node that ran it
 * (gone, not part of the cluster's primary component, read-only), because
 * the transaction lost a conflict (InnoDB deadlock or Galera certification),
 * or for a reason another node would share.
 */
import { DuplicateKeyError, StoreError } from './store.js';

export interface MysqlError { code?: string; errno?: number; fatal?: boolean; sqlMessage?: string; message?: string }

/** The server is gone or refuses us, on connect or mid-statement. */
const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR', 'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN', 'POOL_CLOSED', 'POOL_NONEONLINE', 'POOL_NOEXIST',
]);

/**
 * A node that answers but will not serve: 1047 "WSREP has not yet prepared
 * node for application use" (a Galera node outside the primary component, or
 * still joining), 1290/1836 read-only, 1927 connection killed (MariaDB),
 * 1180 error during COMMIT (a node that lost the cluster while committing).
 */
const NODE_REFUSALS = new Set([1047, 1290, 1836, 1927, 1180]);

/**
 * The transaction was rolled back to let another win: 1213 is InnoDB's
 * deadlock victim and Galera's certification failure alike ("Deadlock found
 * … try restarting transaction", or "WSREP detected deadlock/conflict"); 1317
 * "Query execution was interrupted" is how a Galera brute-force abort of a
 * running statement surfaces on some releases.
 */
const CONFLICTS = new Set([1213, 1317]);

/** The node that ran the statement failed it; another node may succeed. */
export function isNodeFailure(err: unknown): boolean {
  const e = causeOf(err);
  if (!e) return false;
  return !!e.fatal || (e.code !== undefined && UNREACHABLE.has(e.code) && !e.code.startsWith('POOL_')) ||
    (e.errno !== undefined && NODE_REFUSALS.has(e.errno));
}

/** The node refused the statement outright, so it did nothing: safe to send again elsewhere even when it writes. */
export function isRefusal(err: unknown): boolean {
  const e = causeOf(err);
  return e?.errno !== undefined && NODE_REFUSALS.has(e.errno) && e.errno !== 1180 && e.errno !== 1927;
}

/** The whole transaction was rolled back to break a conflict; running it again is the documented remedy. */
export function isConflict(err: unknown): boolean {
  const e = causeOf(err);
  return e?.errno !== undefined && CONFLICTS.has(e.errno);
}

function causeOf(err: unknown): MysqlError | undefined {
  if (err instanceof StoreError) return err.cause as MysqlError | undefined;
  return (err ?? undefined) as MysqlError | undefined;
}

export function mysqlError(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const e = (err ?? {}) as MysqlError;
  const detail = e.sqlMessage ?? e.message ?? String(err);
  if (e.code === 'ER_DUP_ENTRY') {
    const key = /for key '(?:[^.']*\.)?([^']+)'/.exec(detail)?.[1] ?? 'unknown';
    return new DuplicateKeyError(`${what}: ${detail}`, key, { cause: err });
  }
  if (isConflict(e) || e.code === 'ER_LOCK_WAIT_TIMEOUT') return new StoreError(`${what}: ${detail}`, 0x80000042, { cause: err });
  if (e.fatal || (e.code && UNREACHABLE.has(e.code)) || (e.errno !== undefined && NODE_REFUSALS.has(e.errno))) {
    return new StoreError(`database unreachable: ${detail}`, 0x80000040, { cause: err });
  }
  return new StoreError(`${what}: ${detail}`, 0x80000041, { cause: err });
}
