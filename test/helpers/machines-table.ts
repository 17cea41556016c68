/**
 * The machines table read with plain SQL (every column, every row), and the
 * check every enrollment refusal shares: the request is answered with its
 * error code and the table is exactly as it was (DESIGN.md "Errors and bad
 * input": one transaction per request).
 */
import type { Test } from 'tap';
import type { SqlRow } from '../../db/driver.js';
import type { SqlStore } from '../../db/sql-store.js';
import { AcsError, formatErrorCode } from '../../shared/protocol/errors.js';

export function machineRows(store: SqlStore): Promise<SqlRow[]> {
  return store.driver.all('SELECT * FROM machines ORDER BY id');
}

/**
 * Runs `action` (a wire exchange, or a client call that makes one), expects
 * it to reject with the ACS error `code` (8 hex digits, as on the wire) and
 * the machines table to be unchanged; returns the error for further checks.
 */
export async function refusedWithoutChange(t: Test, store: SqlStore, code: string, action: () => Promise<unknown>): Promise<AcsError> {
  const before = await machineRows(store);
  const outcome = await action().then(
    (value) => ({ value }),
    (err: unknown) => ({ err }),
  );
  if (!('err' in outcome) || !(outcome.err instanceof AcsError)) {
    t.fail(`expected error ${code}`, { found: 'err' in outcome ? outcome.err : outcome.value });
    return new AcsError(0);
  }
  t.equal(formatErrorCode(outcome.err.code), code, `answered ${code}: ${outcome.err.message}`);
  t.strictSame(await machineRows(store), before, 'machines table unchanged');
  return outcome.err;
}
