/**
 * A fresh, uniquely named MySQL/MariaDB database per test file on the local
 * server (127.0.0.1:3306, root, no password) or the server in
 * ACS_TEST_MYSQL_URL — which may list several servers of one cluster, as
 * --db does: the database is created and dropped through the first, and its
 * URL keeps the list and parameters. Callers register `t.teardown(db.drop)`.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { storeLocation } from '../../db/open.js';

export interface FreshDatabase {
  /** mysql:// URL of the new database, for openStore. */
  url: string;
  database: string;
  drop(): Promise<void>;
}

const DEFAULT_SERVER = 'mysql://root@127.0.0.1:3306/';

function serverUrl(): string {
  return process.env.ACS_TEST_MYSQL_URL || DEFAULT_SERVER;
}

/** `server` with its database path replaced by `database`, servers and parameters kept. */
function withDatabase(server: string, database: string): string {
  return server.replace(/^([a-z]+:\/\/[^/?#]*)(\/[^?#]*)?/i, `$1/${database}`);
}

/** A connection of its own to the (first) server of a mysql:// URL, whatever database the URL names. */
export function connectTo(server: string): Promise<mysql.Connection> {
  const where = storeLocation(withDatabase(server, 'mysql'), {});
  if (where.dialect !== 'mysql') throw new TypeError(`ACS_TEST_MYSQL_URL is not a MySQL URL: ${server}`);
  const { nodes: [first], user, password, socketPath } = where.mysql;
  return mysql.createConnection({ host: first!.host, port: first!.port, socketPath, user, password });
}

/** Kills one server connection by its CONNECTION_ID(). */
export async function killConnection(id: number): Promise<void> {
  const conn = await connectTo(serverUrl());
  try {
    await conn.query('KILL CONNECTION ?', [id]);
  } finally {
    await conn.end();
  }
}

/** Kills every server connection using the database, as a server restart would; returns how many. */
export async function killConnections(database: string): Promise<number> {
  const conn = await connectTo(serverUrl());
  try {
    const [rows] = await conn.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [database]);
    const ids = (rows as { id: number }[]).map((r) => r.id);
    for (const id of ids) await conn.query('KILL CONNECTION ?', [id]).catch(() => {});
    return ids.length;
  } finally {
    await conn.end();
  }
}

/** The server's Unix socket path (@@socket), as the server reports it. */
export async function serverSocket(): Promise<string> {
  const conn = await connectTo(serverUrl());
  try {
    const [rows] = await conn.query('SELECT @@socket AS socket');
    return String((rows as { socket: string }[])[0]!.socket);
  } finally {
    await conn.end();
  }
}

export async function freshMariaDb(): Promise<FreshDatabase> {
  const server = serverUrl();
  const database = `acs_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const connect = () => connectTo(server);
  const conn = await connect();
  try {
    await conn.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await conn.end();
  }
  return {
    url: withDatabase(server, database),
    database,
    /** Idempotent: DROP DATABASE IF EXISTS, so it may run again after a test dropped it itself. */
    async drop() {
      const c = await connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${database}\``);
      } finally {
        await c.end();
      }
    },
  };
}
