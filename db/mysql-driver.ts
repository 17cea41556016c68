/**
 * MySQL/MariaDB driver over a mysql2 pool. Statements are server-side prepared
 * (execute), times travel as "YYYY-MM-DD HH:MM:SS.sss" strings (dateStrings)
 * so both dialects hand the store the same shapes. A dropped connection is
 * removed from the pool and replaced on the next query; it never reaches the
 * process as an unhandled 'error' event.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool, type Pool, type PoolConnection as CallbackPoolConnection, type ResultSetHeader } from 'mysql2';
import mysql from 'mysql2/promise';
import type { RunResult, SqlConnection, SqlDriver, SqlRow, SqlValue } from './driver.js';
import { migrateMysql } from './migrate.js';
import { DuplicateKeyError, StoreError } from './store.js';

export interface MysqlConfig {
  host: string;
  port: number;
  /** Unix socket of a server on this machine; when set, host and port are not used. */
  socketPath?: string;
  user: string;
  password: string;
  database: string;
}

/** Errors that mean the server is gone or refuses us, not that a statement was wrong. */
const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR', 'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'ER_QUERY_INTERRUPTED', 'POOL_CLOSED',
]);
const TX_CONFLICT = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

interface MysqlError { code?: string; fatal?: boolean; sqlMessage?: string; message?: string }

export function mysqlError(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const e = (err ?? {}) as MysqlError;
  const detail = e.sqlMessage ?? e.message ?? String(err);
  if (e.code === 'ER_DUP_ENTRY') {
    const key = /for key '(?:[^.']*\.)?([^']+)'/.exec(detail)?.[1] ?? 'unknown';
    return new DuplicateKeyError(`${what}: ${detail}`, key, { cause: err });
  }
  if (e.fatal || (e.code && UNREACHABLE.has(e.code))) {
    return new StoreError(`database unreachable: ${detail}`, 0x80000040, { cause: err });
  }
  if (e.code && TX_CONFLICT.has(e.code)) return new StoreError(`${what}: ${detail}`, 0x80000042, { cause: err });
  return new StoreError(`${what}: ${detail}`, 0x80000041, { cause: err });
}

/** Rejects database names we would have to quote beyond recognition. */
function databaseIdent(name: string): string {
  if (!/^[A-Za-z0-9_$-]{1,64}$/.test(name)) throw new StoreError(`unsupported database name ${JSON.stringify(name)}`, 0x80000040);
  return `\`${name}\``;
}

/**
 * The pool and its connections through mysql2's callback API: its promise
 * wrapper captures a stack trace for every statement, a measurable share of
 * the server's time at a few statements per attestation.
 */
type Executor = Pick<CallbackPoolConnection, 'execute'>;

function execute(on: Executor, sql: string, params: readonly SqlValue[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    on.execute(sql, params as SqlValue[], (err, result) => (err ? reject(err) : resolve(result)));
  });
}

function query(conn: CallbackPoolConnection, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.query(sql, (err) => (err ? reject(err) : resolve()));
  });
}

async function all(on: Executor, sql: string, params: readonly SqlValue[]): Promise<SqlRow[]> {
  return (await execute(on, sql, params)) as SqlRow[];
}

async function run(on: Executor, sql: string, params: readonly SqlValue[]): Promise<RunResult> {
  const header = (await execute(on, sql, params)) as ResultSetHeader;
  return { insertId: Number(header.insertId), changes: header.affectedRows };
}

function connectionOn(conn: CallbackPoolConnection): SqlConnection {
  return {
    all: (sql, params = []) => all(conn, sql, params).catch((e) => Promise.reject(mysqlError(e, 'query failed'))),
    run: (sql, params = []) => run(conn, sql, params).catch((e) => Promise.reject(mysqlError(e, 'query failed'))),
  };
}

function isConnectionLoss(err: StoreError): boolean {
  return err.code === 0x80000040;
}

/**
 * InnoDB rolled the whole transaction back to break a deadlock (Galera
 * reports a certification conflict the same way). Re-running the
 * transaction is the documented remedy (MySQL Reference Manual, InnoDB
 * "How to Minimize and Handle Deadlocks").
 */
function isDeadlock(err: unknown): boolean {
  return err instanceof StoreError && (err.cause as MysqlError | undefined)?.code === 'ER_LOCK_DEADLOCK';
}

/**
 * Attempts of a transaction that keeps losing deadlocks. Between them a
 * random pause, doubling each time (about 1 s in all at most), lets the
 * winners commit first even when dozens of transactions of several servers
 * contend for one gap.
 */
const DEADLOCK_ATTEMPTS = 8;
const DEADLOCK_PAUSE_MS = 4;

export class MysqlDriver implements SqlDriver {
  readonly dialect = 'mysql' as const;
  readonly forUpdate = ' FOR UPDATE';
  readonly insertIgnore = 'INSERT IGNORE';
  readonly maxParams = 65535;
  private readonly pool: Pool;

  constructor(readonly config: MysqlConfig) {
    this.pool = createPool({
      host: config.host,
      port: config.port,
      socketPath: config.socketPath,
      user: config.user,
      password: config.password,
      database: config.database,
      charset: 'UTF8MB4_GENERAL_CI',
      timezone: 'Z',
      dateStrings: true,
      supportBigNumbers: true,
      connectionLimit: 10,
      waitForConnections: true,
      queueLimit: 0,
      connectTimeout: 5000,
      enableKeepAlive: true,
      maxPreparedStatements: 256,
    });
    this.pool.on('connection', (conn) => {
      // A connection that dies while idle emits 'error' more than once; the
      // pool's own handler only listens once.
      conn.on('error', () => {});
      // READ COMMITTED: a locking read of a row that is not there (a new
      // hostname) takes no gap lock, so enrollments of different new hosts
      // cannot deadlock on each other's INSERTs. Every decision here rests on row locks of existing rows and
      // on unique indexes, which READ COMMITTED keeps (MySQL Reference
      // Manual, InnoDB "Transaction Isolation Levels"). Queued ahead of any
      // statement the pool runs on this connection.
      conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', (err) => { if (err) conn.destroy(); });
    });
  }

  /** CREATE DATABASE IF NOT EXISTS, on a connection without a default database. */
  static async createDatabase(config: MysqlConfig): Promise<void> {
    const ident = databaseIdent(config.database);
    let conn: mysql.Connection | undefined;
    try {
      conn = await mysql.createConnection({ host: config.host, port: config.port, socketPath: config.socketPath, user: config.user, password: config.password, connectTimeout: 5000 });
      conn.on('error', () => {});
      await conn.query(`CREATE DATABASE IF NOT EXISTS ${ident} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    } catch (e) {
      throw mysqlError(e, 'create database failed');
    } finally {
      await conn?.end().catch(() => {});
    }
  }

  async all(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    try {
      return await all(this.pool, sql, params);
    } catch (e) {
      const err = mysqlError(e, 'query failed');
      // A read on a connection the server dropped is safe to repeat once on a fresh one.
      if (!isConnectionLoss(err)) throw err;
      return all(this.pool, sql, params).catch((e2) => Promise.reject(mysqlError(e2, 'query failed')));
    }
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    return run(this.pool, sql, params).catch((e) => Promise.reject(mysqlError(e, 'query failed')));
  }

  /** Runs fn in a transaction, again from the start when InnoDB picked it as a deadlock victim. */
  async transaction<T>(fn: (conn: SqlConnection) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transactionOnce(fn);
      } catch (e) {
        if (attempt >= DEADLOCK_ATTEMPTS || !isDeadlock(e)) throw e;
        await sleep(Math.random() * DEADLOCK_PAUSE_MS * 2 ** attempt);
      }
    }
  }

  private async transactionOnce<T>(fn: (conn: SqlConnection) => Promise<T>): Promise<T> {
    let conn: CallbackPoolConnection;
    try {
      conn = await new Promise<CallbackPoolConnection>((resolve, reject) => {
        this.pool.getConnection((err, c) => (err ? reject(err) : resolve(c)));
      });
    } catch (e) {
      throw mysqlError(e, 'no connection');
    }
    try {
      await query(conn, 'START TRANSACTION');
    } catch (e) {
      conn.destroy();
      throw mysqlError(e, 'begin failed');
    }
    let result: T;
    try {
      result = await fn(connectionOn(conn));
    } catch (e) {
      try {
        await query(conn, 'ROLLBACK');
        conn.release();
      } catch {
        conn.destroy();
      }
      throw e;
    }
    try {
      await query(conn, 'COMMIT');
      conn.release();
    } catch (e) {
      conn.destroy();
      const err = mysqlError(e, 'commit failed');
      throw err.code === 0x80000041 ? new StoreError(err.message, 0x80000042, { cause: e }) : err;
    }
    return result;
  }

  async migrate(): Promise<void> {
    let conn: mysql.Connection | undefined;
    try {
      conn = await mysql.createConnection({ ...this.config, multipleStatements: false, connectTimeout: 5000 });
      conn.on('error', () => {});
      await migrateMysql(conn);
    } catch (e) {
      throw mysqlError(e, 'migration failed');
    } finally {
      await conn?.end().catch(() => {});
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.pool.end(() => resolve()));
  }
}
