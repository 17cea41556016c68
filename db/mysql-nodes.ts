/**
 * The database servers a MySQL store may use, in order of preference, over
 * mysql2's PoolCluster (one pool per node, ORDER selector): every connection
 * comes from the first node that is not marked down (or, with select 'rr',
 * from the next such node in turn). A node is marked down
 * when connecting to it fails (PoolCluster's own bookkeeping) or when a
 * statement shows it cannot serve (gone mid-statement, outside Galera's
 * primary component, read-only); after NODE_RETRY_MS it is tried first again,
 * so the store returns to a preferred node once it is back. With one node
 * nothing is ever marked down: every request tries it, as a plain pool does.
 */
import { createPoolCluster, type PoolCluster, type PoolConnection } from 'mysql2';
import type { MysqlConfig } from './mysql-driver.js';

/** How long a failed node is passed over before it is tried first again. */
export const NODE_RETRY_MS = 3000;
const ALL = '*';

/** PoolCluster's per-node error bookkeeping, which its public API only drives from failed connects. */
interface ClusterInternals {
  _getNode(id: string): unknown;
  _increaseErrorCount(node: unknown): void;
}

export interface NodeConnection {
  conn: PoolConnection;
  /** host:port of the node, for logs and tests. */
  node: string;
  /** The node replicates with Galera (wsrep_on): see db/mysql-driver.ts on COMMIT round trips. */
  galera: boolean;
}

function onConnection(conn: PoolConnection, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.query(sql, (err) => (err ? reject(err) : resolve()));
  });
}

export class MysqlNodes {
  private readonly cluster: PoolCluster;
  /** Connections whose session is prepared, and whether their node is a Galera node. */
  private readonly ready = new WeakMap<PoolConnection, boolean>();
  private readonly selector: string;
  readonly count: number;

  constructor(config: MysqlConfig) {
    this.count = config.nodes.length;
    this.selector = config.select === 'rr' ? 'RR' : 'ORDER';
    this.cluster = createPoolCluster({
      // One failure takes a node out of the rotation and the next is tried; a
      // lone node is never taken out, nor retried at once (it would loop).
      canRetry: this.count > 1,
      removeNodeErrorCount: this.count > 1 ? 1 : Number.POSITIVE_INFINITY,
      restoreNodeTimeout: NODE_RETRY_MS,
      defaultSelector: this.selector,
    });
    this.cluster.on('warn', () => {});
    for (const n of config.nodes) {
      this.cluster.add(`${n.host}:${n.port}`, {
        host: n.host,
        port: n.port,
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
        // A transaction's deferred writes travel with its COMMIT in one round
        // trip (db/mysql-driver.ts); every value in them is escaped by mysql2.
        multipleStatements: true,
      });
    }
  }

  /** A connection from the most preferred node that is up, its session prepared. */
  async acquire(): Promise<NodeConnection> {
    const conn = await new Promise<PoolConnection>((resolve, reject) => {
      this.cluster.getConnection(ALL, this.selector, (err, c) => (err ? reject(err) : resolve(c)));
    });
    const node = (conn as unknown as { _clusterId: string })._clusterId;
    let galera = this.ready.get(conn);
    if (galera === undefined) {
      try {
        galera = await prepareSession(conn);
      } catch (e) {
        conn.destroy();
        this.markDown(node);
        throw e;
      }
      this.ready.set(conn, galera);
    }
    return { conn, node, galera };
  }

  /** Passes over `node` for NODE_RETRY_MS: a statement showed it cannot serve. */
  markDown(node: string): void {
    if (this.count < 2) return;
    const internals = this.cluster as unknown as ClusterInternals;
    const entry = internals._getNode(node);
    if (entry) internals._increaseErrorCount(entry);
  }

  end(): Promise<void> {
    return new Promise((resolve) => this.cluster.end(() => resolve()));
  }
}

/**
 * Session settings, before the connection's first statement:
 *
 * READ COMMITTED: a locking read of a row that is not there (a new hostname)
 * takes no gap lock, so enrollments of different new hosts cannot deadlock
 * on each other's INSERTs. Every decision here rests on row locks of existing
 * rows and on unique indexes, which READ COMMITTED keeps (MySQL Reference
 * Manual, InnoDB "Transaction Isolation Levels").
 *
 * wsrep_sync_wait = 7: on a Galera node, reads, updates, deletes and inserts
 * wait until the node has applied every transaction the cluster committed
 * before they began, so a nonce issued through one node is found by a quote
 * sent through another, and an AUTO_INCREMENT id drawn on one node is above
 * those already drawn on others (each node draws its own interleaved ids),
 * keeping ids in commit order, which "newest by id" relies on (MariaDB KB,
 * "wsrep_sync_wait", "wsrep_auto_increment_control"). Without wsrep it does
 * nothing; MySQL, which has no such variable, refuses it (1193) and is left
 * as it is.
 */
async function prepareSession(conn: PoolConnection): Promise<boolean> {
  // A connection that dies while idle emits 'error' more than once; the pool's own handler only listens once.
  conn.on('error', () => {});
  await onConnection(conn, 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  // mysql2 escapes the values of multi-statement queries with backslashes, which NO_BACKSLASH_ESCAPES would turn into literals.
  await onConnection(conn, "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))");
  return onConnection(conn, 'SET SESSION wsrep_sync_wait = 7').then(
    () => wsrepOn(conn),
    (e: { errno?: number }) => {
      if (e.errno !== 1193) throw e;
      return false;
    },
  );
}

function wsrepOn(conn: PoolConnection): Promise<boolean> {
  return new Promise((resolve, reject) => {
    conn.query('SELECT @@wsrep_on AS wsrep_on', (err, rows) => (err ? reject(err) : resolve(Number((rows as { wsrep_on: unknown }[])[0]?.wsrep_on) === 1)));
  });
}
