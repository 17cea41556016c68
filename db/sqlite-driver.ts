/**
 * SQLite driver over better-sqlite3. better-sqlite3 is synchronous and holds
 * one connection, so an async transaction would interleave with every other
 * caller's statements: transactions and statements outside them are
 * serialized by an in-process mutex, and each transaction takes SQLite's write
 * lock up front (BEGIN IMMEDIATE) so other processes on the same file wait
 * (busy_timeout) instead of failing at COMMIT. Rows read inside a transaction
 * are therefore already locked; `forUpdate` is empty.
 */
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import type { RunResult, SqlDriver, SqlRow, SqlValue, TxConnection } from './driver.js';
import { migrateSqlite, migrationCause } from './migrate.js';
import { DuplicateKeyError, StoreError } from './store.js';

/** Runs async critical sections one at a time, in call order. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

const UNREACHABLE = new Set(['SQLITE_CANTOPEN', 'SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_FULL']);

export function sqliteError(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? '';
  const detail = e?.message ?? String(err);
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // "UNIQUE constraint failed: machines.hostname": name the index the way MySQL does.
    const key = /failed: (\w+)\.(\w+)/.exec(detail);
    const index = key ? (INDEX_OF_COLUMN[`${key[1]}.${key[2]}`] ?? `${key[1]}.${key[2]}`) : 'unknown';
    return new DuplicateKeyError(`${what}: ${detail}`, index, { cause: err });
  }
  if (UNREACHABLE.has(code.replace(/_[A-Z]+$/, '')) || UNREACHABLE.has(code)) {
    return new StoreError(`database unreachable: ${detail}`, 0x80000040, { cause: err });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError(`${what}: ${detail}`, 0x80000042, { cause: err });
  }
  return new StoreError(`${what}: ${detail}`, 0x80000041, { cause: err });
}

/** Unique indexes by the column SQLite reports, so DuplicateKeyError.key matches across dialects. */
const INDEX_OF_COLUMN: Record<string, string> = {
  'machines.hostname': 'machines_hostname_uq',
  'attestlog.nonce': 'attestlog_nonce_uq',
  'machines.enrolled_ek_fingerprint': 'machines_enrolled_ek_uq',
  'web_users.name': 'web_users_name_uq',
  'web_sessions.token_hash': 'web_sessions_token_uq',
  'api_tokens.name': 'api_tokens_name_uq',
  'api_tokens.token_hash': 'api_tokens_token_uq',
};

const STATEMENT_CACHE = 256;

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  readonly forUpdate = '';
  readonly insertIgnore = 'INSERT OR IGNORE';
  readonly maxParams = 32766;
  private readonly db: BetterSqlite3.Database;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private readonly mutex = new Mutex();
  /** Writes deferred by the running transaction, run before its next statement or its COMMIT. */
  private readonly deferred: { sql: string; params: readonly SqlValue[] }[] = [];
  /** Statements issued by the transaction that holds the mutex skip it. */
  private readonly direct: TxConnection = {
    all: async (sql, params = []) => (this.runDeferred(), this.allNow(sql, params)),
    run: async (sql, params = []) => (this.runDeferred(), this.runNow(sql, params)),
    defer: (sql, params = []) => {
      this.deferred.push({ sql, params });
    },
  };

  /** Opens (and with create, creates) the database file; ':memory:' for a private in-memory database. */
  constructor(path: string, opts: { create?: boolean } = {}) {
    try {
      this.db = new Database(path, { fileMustExist: path !== ':memory:' && !opts.create });
      if (path !== ':memory:') this.db.pragma('journal_mode = WAL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('synchronous = NORMAL');
    } catch (e) {
      throw new StoreError(`cannot open SQLite database ${path}: ${(e as Error).message}`, 0x80000040, { cause: e });
    }
  }

  private prepare(sql: string): BetterSqlite3.Statement {
    let stmt = this.statements.get(sql);
    if (stmt) {
      this.statements.delete(sql);
    } else {
      stmt = this.db.prepare(sql);
      if (this.statements.size >= STATEMENT_CACHE) this.statements.delete(this.statements.keys().next().value!);
    }
    this.statements.set(sql, stmt);
    return stmt;
  }

  private allNow(sql: string, params: readonly SqlValue[]): SqlRow[] {
    try {
      return this.prepare(sql).all(...params) as SqlRow[];
    } catch (e) {
      throw sqliteError(e, 'query failed');
    }
  }

  private runNow(sql: string, params: readonly SqlValue[]): RunResult {
    try {
      const res = this.prepare(sql).run(...params);
      return { insertId: Number(res.lastInsertRowid), changes: res.changes };
    } catch (e) {
      throw sqliteError(e, 'query failed');
    }
  }

  /** In-process, a deferred write saves no round trip; it only surfaces its failure where MySQL's would. */
  private runDeferred(): void {
    for (const { sql, params } of this.deferred.splice(0)) this.runNow(sql, params);
  }

  all(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return this.mutex.run(() => this.allNow(sql, params));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    return this.mutex.run(() => this.runNow(sql, params));
  }

  transaction<T>(fn: (conn: TxConnection) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      try {
        this.db.exec('BEGIN IMMEDIATE');
      } catch (e) {
        throw sqliteError(e, 'begin failed');
      }
      let result: T;
      try {
        result = await fn(this.direct);
        this.runDeferred();
      } catch (e) {
        this.deferred.length = 0;
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
      try {
        this.db.exec('COMMIT');
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        const err = sqliteError(e, 'commit failed');
        throw err.code === 0x80000041 ? new StoreError(err.message, 0x80000042, { cause: e }) : err;
      }
      return result;
    });
  }

  migrate(): Promise<void> {
    return this.mutex.run(() => {
      try {
        migrateSqlite(this.db);
      } catch (e) {
        throw sqliteError(migrationCause(e), 'migration failed');
      }
    });
  }

  close(): Promise<void> {
    return this.mutex.run(() => {
      this.statements.clear();
      if (this.db.open) this.db.close();
    });
  }
}
