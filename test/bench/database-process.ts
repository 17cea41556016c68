/**
 * Which local process is the database server a benchmark talks to, found
 * from the connection itself rather than by process name (a machine may run
 * several mariadbd: the system's, a test's, a Galera cluster's). Each server
 * of the location is asked for @@pid_file, @@port and @@socket; its process
 * is the mariadbd/mysqld whose pid the pid file holds, or else the one that
 * holds the listening socket (TCP @@port or Unix @@socket, matched by inode
 * through /proc). A server on another host, or one /proc does not show, is
 * reported as not identified: its CPU is not measured (null, never 0).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import mysql from 'mysql2/promise';
import type { StoreLocation } from '../../db/open.js';

const DATABASE_COMMANDS = new Set(['mariadbd', 'mysqld']);
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|::ffff:127(\.\d{1,3}){3})$/;

export interface DatabaseProcess {
  /** host:port or the socket path, as configured. */
  server: string;
  pid?: number;
  /** How the pid was found, or why none was. */
  how: string;
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function databasePids(): number[] {
  try {
    return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((p) => DATABASE_COMMANDS.has(comm(p)));
  } catch {
    return [];
  }
}

/** Inodes of listening sockets on TCP `port` (any address) and of the Unix socket at `path`. */
function listeningInodes(port: number, path: string): Set<string> {
  const inodes = new Set<string>();
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        // local_address is ADDR:PORT in hex, st 0A is LISTEN, inode is the tenth field.
        if (f[1]?.endsWith(`:${portHex}`) && f[3] === '0A') inodes.add(f[9]!);
      }
    } catch {
      // no such table
    }
  }
  if (path) {
    try {
      for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f[7] === path) inodes.add(f[6]!);
      }
    } catch {
      // no /proc/net/unix
    }
  }
  return inodes;
}

function holdsSocket(pid: number, inodes: Set<string>): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m !== null && inodes.has(m[1]!);
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

interface ServerVars { pid_file: string | null; port: number; socket: string | null }

async function serverVars(host: string, port: number, socketPath: string | undefined, user: string, password: string): Promise<ServerVars> {
  const conn = await mysql.createConnection({ host, port, socketPath, user, password, connectTimeout: 5000 });
  try {
    const [rows] = await conn.query('SELECT @@pid_file AS pid_file, @@port AS port, @@socket AS socket');
    return (rows as ServerVars[])[0]!;
  } finally {
    await conn.end();
  }
}

/** The process of each server of a MySQL location (none for SQLite, which runs inside the server). */
export async function databaseProcesses(where: StoreLocation): Promise<DatabaseProcess[]> {
  if (where.dialect !== 'mysql') return [];
  const { nodes, socketPath, user, password } = where.mysql;
  const servers = socketPath ? [{ host: 'localhost', port: 0 }] : nodes;
  return Promise.all(servers.map(async ({ host, port }): Promise<DatabaseProcess> => {
    const server = socketPath ?? `${host}:${port}`;
    if (!socketPath && !LOOPBACK.test(host)) return { server, how: 'not identified: the server is on another host' };
    let vars: ServerVars;
    try {
      vars = await serverVars(host, port, socketPath, user, password);
    } catch (e) {
      return { server, how: `not identified: ${(e as Error).message}` };
    }
    const candidates = databasePids();
    const fromFile = Number(vars.pid_file ? (() => {
      try {
        return readFileSync(vars.pid_file!, 'utf8').trim();
      } catch {
        return '';
      }
    })() : '');
    if (candidates.includes(fromFile)) return { server, pid: fromFile, how: `pid file ${vars.pid_file}` };
    const inodes = listeningInodes(vars.port, vars.socket ?? '');
    const holder = candidates.find((pid) => holdsSocket(pid, inodes));
    if (holder !== undefined) return { server, pid: holder, how: `listening socket (port ${vars.port}${vars.socket ? `, ${vars.socket}` : ''})` };
    return { server, how: `not identified: no local ${[...DATABASE_COMMANDS].join('/')} holds port ${vars.port} or pid file ${vars.pid_file}` };
  }));
}
