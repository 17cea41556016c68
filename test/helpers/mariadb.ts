/**
 * A fresh, uniquely named MySQL/MariaDB database per test file on the local
 * server (127.0.0.1:3306, root, no password) or the server in
 * ACS_TEST_MYSQL_URL. Callers register `t.teardown(db.drop)`.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

export interface FreshDatabase {
  /** mysql:// URL of the new database, for openStore. */
  url: string;
  database: string;
  drop(): Promise<void>;
}

const DEFAULT_SERVER = 'mysql://root@127.0.0.1:3306/';

function serverUrl(): URL {
  return new URL(process.env.ACS_TEST_MYSQL_URL || DEFAULT_SERVER);
}

function connectTo(server: URL): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: server.hostname,
    port: Number(server.port || 3306),
    user: decodeURIComponent(server.username) || 'root',
    password: decodeURIComponent(server.password),
  });
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
  const url = new URL(server.href);
  url.pathname = `/${database}`;
  return {
    url: url.href,
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
