/**
 * The small SQL surface the store is written against. Both dialects take `?`
 * placeholders and backtick-quoted identifiers, so one set of SQL statements
 * serves MySQL/MariaDB and SQLite; what differs (row locks, transactions,
 * parameter limits, error shapes) lives in the two drivers.
 */
import { StoreError } from './store.js';

/** What a parameter may be once normalized: drivers get no booleans, Dates or undefined. */
export type SqlValue = string | number | null;
export type SqlRow = Record<string, unknown>;

export interface RunResult {
  /** AUTO_INCREMENT / rowid of the last inserted row. */
  insertId: number;
  /** Rows inserted, updated or deleted. */
  changes: number;
}

/** A connection, or the connection a transaction runs on. */
export interface SqlConnection {
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
}

/**
 * The connection a transaction runs on. A write whose result is not needed
 * may be deferred: it travels with the transaction's next statement or with
 * its COMMIT, in one round trip, and its failure surfaces there.
 */
export interface TxConnection extends SqlConnection {
  defer(sql: string, params?: readonly SqlValue[]): void;
}

export interface SqlDriver extends SqlConnection {
  readonly dialect: 'mysql' | 'sqlite';
  /** Appended to a SELECT that must lock its rows: " FOR UPDATE", or "" where the transaction already holds the write lock. */
  readonly forUpdate: string;
  /** An INSERT that skips rows a unique index already holds: "INSERT IGNORE" or "INSERT OR IGNORE". */
  readonly insertIgnore: string;
  /** Most placeholders one statement may carry. */
  readonly maxParams: number;
  /** Runs fn on one connection inside BEGIN … COMMIT, rolling back when it throws. */
  transaction<T>(fn: (conn: TxConnection) => Promise<T>): Promise<T>;
  /** Applies the committed migrations not yet applied. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/** Formats a Date as "YYYY-MM-DD HH:MM:SS.sss" in UTC: MySQL DATETIME(3) input and our SQLite TEXT form. */
export function formatTime(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new StoreError('invalid Date value', 0x80000041);
  return d.toISOString().slice(0, 23).replace('T', ' ');
}

/** Parses a stored time ("YYYY-MM-DD HH:MM:SS[.fff]", UTC) back into a Date. */
export function parseTime(v: unknown): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'string') {
    const d = new Date(`${v.replace(' ', 'T')}Z`);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new StoreError(`unreadable time value ${JSON.stringify(v)}`, 0x80000041);
}

/** Normalizes a JS value for binding: booleans to 0/1, Dates to UTC text, undefined to NULL. */
export function sqlValue(v: unknown): SqlValue {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return formatTime(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new StoreError(`cannot store number ${v}`, 0x80000041);
    return v;
  }
  if (typeof v === 'bigint') return Number(v);
  throw new StoreError(`cannot store a value of type ${typeof v}`, 0x80000041);
}

/** Quotes an identifier that comes from our own schema (never from input). */
export function ident(name: string): string {
  return `\`${name}\``;
}
