/**
 * MySQL/MariaDB driver over mysql2. Statements are server-side prepared
 * (execute), times travel as "YYYY-MM-DD HH:MM:SS.sss" strings (dateStrings)
 * so both dialects hand the store the same shapes. Connections come from the
 * configured nodes in order of preference (MysqlNodes); a dropped connection
 * is removed from its pool and replaced on the next statement, and never
 * reaches the process as an unhandled 'error' event.
 *
 * When a node fails under a request: a read runs once more on the next node;
 * a transaction that had not reached COMMIT runs once more from the start on
 * the next node (nothing of it was committed); a failure during COMMIT is
 * answered 80000040, since the commit may or may not have happened, and the
 * client attests again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PoolConnection as CallbackPoolConnection, ResultSetHeader } from 'mysql2';
import mysql from 'mysql2/promise';
import type { RunResult, SqlDriver, SqlRow, SqlValue, TxConnection } from './driver.js';
import { migrateMysql, migrationCause } from './migrate.js';
import { isConflict, isNodeFailure, isRefusal, mysqlError } from './mysql-errors.js';
import { MysqlNodes, type NodeConnection } from './mysql-nodes.js';
import { queryMany } from './mysql-batch.js';
import { countRoundTrip } from './mysql-traffic.js';
import { StoreError } from './store.js';

export interface MysqlNode {
  host: string;
  port: number;
}

export interface MysqlConfig {
  /** Servers in order of preference: the first that serves is used, the next takes over when it fails. */
  nodes: MysqlNode[];
  /** Unix socket of a server on this machine; when set, the nodes' host and port are not used. */
  socketPath?: string;
  /**
   * Which server serves each connection: 'order' (the default) the first that
   * is up; 'rr' the next in turn, spreading writes over a multi-master
   * cluster such as Galera.
   */
  select?: 'order' | 'rr';
  user: string;
  password: string;
  database: string;
}

/** Rejects database names we would have to quote beyond recognition. */
function databaseIdent(name: string): string {
  if (!/^[A-Za-z0-9_$-]{1,64}$/.test(name)) throw new StoreError(`unsupported database name ${JSON.stringify(name)}`, 0x80000040);
  return `\`${name}\``;
}

/**
 * Connections through mysql2's callback API: its promise wrapper captures a
 * stack trace for every statement, a measurable share of the server's time
 * at a few statements per attestation.
 */
function execute(on: CallbackPoolConnection, sql: string, params: readonly SqlValue[]): Promise<unknown> {
  countRoundTrip(1);
  return new Promise((resolve, reject) => {
    on.execute(sql, params as SqlValue[], (err, result) => (err ? reject(err) : resolve(result)));
  });
}

function query(conn: CallbackPoolConnection, sql: string): Promise<void> {
  countRoundTrip(1);
  return new Promise((resolve, reject) => {
    conn.query(sql, (err) => (err ? reject(err) : resolve()));
  });
}

function runResult(header: ResultSetHeader): RunResult {
  return { insertId: Number(header.insertId), changes: header.affectedRows };
}

/**
 * Bytes of deferred statements sent in one round trip at most: well under
 * max_allowed_packet (16 MiB in MariaDB, 4 MiB in MySQL 5.7), which bounds a
 * multi-statement query as a whole.
 */
const ROUND_TRIP_BYTES = 3 * 1024 * 1024;
/** Statements with this many parameters (bulk inserts) are sent prepared even when deferred writes precede them. */
const PREPARED_PARAMS = 1000;

async function all(on: CallbackPoolConnection, sql: string, params: readonly SqlValue[]): Promise<SqlRow[]> {
  return (await execute(on, sql, params)) as SqlRow[];
}

async function run(on: CallbackPoolConnection, sql: string, params: readonly SqlValue[]): Promise<RunResult> {
  return runResult((await execute(on, sql, params)) as ResultSetHeader);
}

/** A transaction's node failed before COMMIT: nothing of it was committed, so it may run again elsewhere. */
class NodeFailedBeforeCommit extends Error {
  constructor(readonly error: StoreError) {
    super(error.message);
  }
}

/**
 * Attempts of a transaction that keeps losing deadlocks or Galera
 * certification. Between them a random pause, doubling each time (about 1 s
 * in all at most), lets the winners commit first even when dozens of
 * transactions of several servers contend for one gap. Re-running the
 * transaction is the documented remedy (MySQL Reference Manual, InnoDB "How
 * to Minimize and Handle Deadlocks"; Galera documentation, "Certification-
 * Based Replication").
 */
const DEADLOCK_ATTEMPTS = 8;
const DEADLOCK_PAUSE_MS = 4;

function conflictPause(attempt: number): Promise<void> {
  return sleep(Math.random() * DEADLOCK_PAUSE_MS * 2 ** attempt);
}

export class MysqlDriver implements SqlDriver {
  readonly dialect = 'mysql' as const;
  readonly forUpdate = ' FOR UPDATE';
  readonly insertIgnore = 'INSERT IGNORE';
  readonly maxParams = 65535;
  private readonly nodes: MysqlNodes;

  constructor(readonly config: MysqlConfig) {
    if (config.nodes.length === 0) throw new StoreError('no database server given', 0x80000040);
    this.nodes = new MysqlNodes(config);
  }

  /** CREATE DATABASE IF NOT EXISTS, on a connection without a default database to the first node that answers. */
  static async createDatabase(config: MysqlConfig): Promise<void> {
    const ident = databaseIdent(config.database);
    let last: unknown;
    for (const node of config.nodes) {
      let conn: mysql.Connection | undefined;
      try {
        conn = await mysql.createConnection({ host: node.host, port: node.port, socketPath: config.socketPath, user: config.user, password: config.password, connectTimeout: 5000 });
        conn.on('error', () => {});
        await conn.query(`CREATE DATABASE IF NOT EXISTS ${ident} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
        return;
      } catch (e) {
        last = e;
        if (!isNodeFailure(e)) break;
      } finally {
        await conn?.end().catch(() => {});
      }
    }
    throw mysqlError(last, 'create database failed');
  }

  /** A read; when its node fails it is safe to run once more, on the next node (or a fresh connection). */
  all(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return this.statement((conn) => all(conn, sql, params), true);
  }

  /** An autocommit write; it runs again elsewhere only when its node refused it outright. */
  run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    return this.statement((conn) => run(conn, sql, params), false);
  }

  private async acquire(): Promise<NodeConnection> {
    try {
      return await this.nodes.acquire();
    } catch (e) {
      throw mysqlError(e, 'no connection');
    }
  }

  /** Gives the connection back, or drops it and passes its node over when the node failed. */
  private settle(held: NodeConnection, err?: unknown): void {
    if (err !== undefined && isNodeFailure(err)) {
      held.conn.destroy();
      this.nodes.markDown(held.node);
    } else {
      held.conn.release();
    }
  }

  /** One statement: once more on the next node as above, and again, like a transaction, when it lost a conflict (it was rolled back whole). */
  private async statement<T>(f: (conn: CallbackPoolConnection) => Promise<T>, read: boolean): Promise<T> {
    let failedOver = false;
    for (let attempt = 1; ; attempt++) {
      const held = await this.acquire();
      try {
        const result = await f(held.conn);
        this.settle(held);
        return result;
      } catch (e) {
        this.settle(held, e);
        if (!failedOver && isNodeFailure(e) && (read || isRefusal(e))) {
          failedOver = true;
          continue;
        }
        if (attempt < DEADLOCK_ATTEMPTS && isConflict(e)) {
          await conflictPause(attempt);
          continue;
        }
        throw mysqlError(e, 'query failed');
      }
    }
  }

  /**
   * Runs fn in a transaction: again from the start when InnoDB or Galera
   * rolled it back to break a conflict, and once more on the next node when
   * its node failed before COMMIT.
   */
  async transaction<T>(fn: (conn: TxConnection) => Promise<T>): Promise<T> {
    let failedOver = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transactionOnce(fn);
      } catch (e) {
        if (e instanceof NodeFailedBeforeCommit) {
          if (failedOver) throw e.error;
          failedOver = true;
          continue;
        }
        if (attempt >= DEADLOCK_ATTEMPTS || !isConflict(e)) throw e;
        await conflictPause(attempt);
      }
    }
  }

  /**
   * One attempt of a transaction, in as few round trips as its statements
   * allow: deferred writes travel with the next statement or with COMMIT
   * (and START TRANSACTION with them when nothing came before). A node failure before the
   * round trip that carries COMMIT means nothing was committed (the attempt
   * may run again elsewhere); a failure of that round trip leaves the outcome
   * unknown, so it is answered 80000040/80000042 and never run again.
   */
  private async transactionOnce<T>(fn: (conn: TxConnection) => Promise<T>): Promise<T> {
    let held: NodeConnection;
    try {
      held = await this.nodes.acquire();
    } catch (e) {
      // PoolCluster already tried every node that is up; a session that could not be prepared ran nothing.
      if (isNodeFailure(e) && this.nodes.count > 1) throw new NodeFailedBeforeCommit(mysqlError(e, 'no connection'));
      throw mysqlError(e, 'no connection');
    }
    const { conn } = held;
    let begun = false;
    const deferred: string[] = [];
    // The first statement that failed because of the node, whatever fn made of its error.
    let nodeFailure: unknown;
    const track = (e: unknown): Promise<never> => {
      if (nodeFailure === undefined && isNodeFailure(e)) nodeFailure = e;
      return Promise.reject(mysqlError(e, 'query failed'));
    };
    /**
     * What must precede the next statement in its round trip: START
     * TRANSACTION if not yet sent, then the deferred writes. Writes beyond one
     * round trip's size are sent ahead in round trips of their own.
     */
    const pending = async (): Promise<string[]> => {
      const head = begun ? [] : ['START TRANSACTION'];
      begun = true;
      if (held.galera) {
        // On a Galera node a brute-force abort of the transaction while it waits can let
        // a multi-statement query run on outside it and answer success: a quote sent to
        // two nodes at once was accepted by both. There, each write is its own round trip.
        for (const text of [...head, ...deferred.splice(0)]) await query(conn, text);
        return [];
      }
      let bytes = 0;
      for (const text of deferred) {
        if (head.length > 0 && bytes + text.length > ROUND_TRIP_BYTES) {
          await queryMany(conn, head.splice(0));
          bytes = 0;
        }
        head.push(text);
        bytes += text.length;
      }
      deferred.length = 0;
      return head;
    };
    const statement = async (sql: string, params: readonly SqlValue[]): Promise<unknown> => {
      // A transaction's first statement goes prepared after its own START TRANSACTION: the server
      // parses a large text statement each time, which costs it more than the extra round trip.
      if (!begun && deferred.length === 0) await query(conn, 'START TRANSACTION').then(() => (begun = true));
      const head = deferred.length === 0 ? [] : await pending();
      if (head.length === 0) return execute(conn, sql, params);
      if (params.length < PREPARED_PARAMS) return queryMany(conn, [...head, conn.format(sql, params as SqlValue[])]);
      // A bulk INSERT stays prepared (its text would cost the server more to parse); what was deferred goes ahead of it.
      await queryMany(conn, head);
      return execute(conn, sql, params);
    };
    const onConn: TxConnection = {
      all: (sql, params = []) => (statement(sql, params) as Promise<SqlRow[]>).catch(track),
      run: (sql, params = []) => statement(sql, params).then((r) => runResult(r as ResultSetHeader), track),
      defer: (sql, params = []) => {
        deferred.push(conn.format(sql, params as SqlValue[]));
      },
    };
    let result: T;
    try {
      result = await fn(onConn);
    } catch (e) {
      if (nodeFailure !== undefined) {
        this.settle(held, nodeFailure);
        throw new NodeFailedBeforeCommit(mysqlError(nodeFailure, 'query failed'));
      }
      if (begun) await this.rollback(held);
      else conn.release();
      throw e;
    }
    if (!begun && deferred.length === 0) {
      conn.release();
      return result;
    }
    let commit: string[];
    try {
      commit = [...(await pending()), 'COMMIT'];
    } catch (e) {
      // A round trip ahead of COMMIT failed: nothing was committed.
      if (isNodeFailure(e)) {
        this.settle(held, e);
        throw new NodeFailedBeforeCommit(mysqlError(e, 'query failed'));
      }
      await this.rollback(held);
      throw mysqlError(e, 'query failed');
    }
    try {
      await queryMany(conn, commit);
      conn.release();
    } catch (e) {
      if (!isNodeFailure(e) && !isConflict(e)) {
        // A deferred write failed: the server stopped before COMMIT.
        await this.rollback(held);
        throw mysqlError(e, 'query failed');
      }
      // The commit's outcome is unknown to us (a conflict is rolled back whole and may run again).
      conn.destroy();
      if (isNodeFailure(e)) this.nodes.markDown(held.node);
      const err = mysqlError(e, 'commit failed');
      throw err.code === 0x80000041 ? new StoreError(err.message, 0x80000042, { cause: e }) : err;
    }
    return result;
  }

  private async rollback({ conn }: NodeConnection): Promise<void> {
    try {
      await query(conn, 'ROLLBACK');
      conn.release();
    } catch {
      conn.destroy();
    }
  }

  /** Migrates through the most preferred node that is up; the lock in migrateMysql holds cluster-wide. */
  async migrate(): Promise<void> {
    const held = await this.acquire();
    try {
      await migrateMysql(held.conn.promise());
      this.settle(held);
    } catch (e) {
      this.settle(held, e);
      throw mysqlError(migrationCause(e), 'migration failed');
    }
  }

  close(): Promise<void> {
    return this.nodes.end();
  }
}
