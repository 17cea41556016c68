/**
 * The I/O floor: what one loopback TCP connection and one SQL statement cost
 * in CPU on this machine, measured in the same run. The IBM ACS protocol
 * takes one TCP connection per request (PROTOCOL.md, Framing), so an
 * incremental attestation is two connections plus its SQL statements before
 * any crypto or log work; this floor turns the machine's syscall and wakeup
 * costs into a ceiling the measured rate can be read against.
 */
import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { openDriver, storeLocation } from '../../db/open.js';
import type { CpuMeter } from './cpu-meter.js';

/** Calls in flight at once: enough to keep the MariaDB pool's 10 connections busy. */
const CONCURRENCY = 16;
/**
 * Calls before measuring: a fresh process runs mysql2's and net's paths
 * unoptimized for its first thousands of calls, and a floor taken after
 * 100 ms read a pooled `SELECT ?` at up to 8 times its warm cost.
 */
const WARM_UP_MS = 1000;
const WARM_UP_CALLS = 2000;

export interface TcpFloor {
  /** Connect, one small frame each way, close: CPU of both ends, µs per connection. */
  connectionCpuUs: number;
  /** One small frame each way on an open connection: CPU of both ends, µs. */
  exchangeCpuUs: number;
}

export interface SqlFloor {
  /** One trivial prepared statement (`SELECT ?`) from the pool, µs of CPU in this process. */
  clientCpuUs: number;
  /** The same in the database server process; NaN unless it runs on this machine. */
  databaseCpuUs: number;
}

/**
 * Runs `call` from CONCURRENCY loops at once and returns µs of CPU per call,
 * in this process and in the meter's database process: the least of three
 * trials of `ms / 3`, after a warm-up that also opens pooled connections.
 * Concurrent, like the load it is compared with: one call at a time would
 * charge every call a sleep and a wakeup, which on a virtual machine costs
 * more than the call itself.
 */
async function cpuPerCall(ms: number, call: () => Promise<void>, meter?: CpuMeter): Promise<{ own: number; database: number }> {
  const loops = async (until: number, atLeast = 0): Promise<number> => {
    let n = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until || n < atLeast) {
        await call();
        n++;
      }
    }));
    return n;
  };
  await loops(performance.now() + WARM_UP_MS, WARM_UP_CALLS);
  let best = { own: Infinity, database: NaN };
  for (let trial = 0; trial < 3; trial++) {
    const c0 = process.cpuUsage();
    const d0 = meter?.sample();
    const n = await loops(performance.now() + ms / 3);
    const c = process.cpuUsage(c0);
    const own = (c.user + c.system) / n;
    if (own < best.own) best = { own, database: meter && d0 ? (meter.since(d0).databaseMs * 1000) / n : NaN };
  }
  return best;
}

/** Both ends in this process, so process CPU time covers client and server side of each connection. */
export async function measureTcpFloor(ms: number): Promise<TcpFloor> {
  const frame = Buffer.from('\0\0\0\x0c{"ok":"1"}\0');
  const server = net.createServer((s) => {
    s.on('data', () => s.write(frame));
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  try {
    const connection = await cpuPerCall(ms, () => new Promise<void>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => c.write(frame));
      c.once('data', () => c.end());
      c.once('close', () => resolve());
      c.once('error', reject);
    }));
    const idle: net.Socket[] = [];
    for (let i = 0; i < CONCURRENCY; i++) {
      const s = net.connect(port, '127.0.0.1');
      await once(s, 'connect');
      idle.push(s);
    }
    const exchange = await cpuPerCall(ms, () => new Promise<void>((resolve) => {
      const s = idle.pop()!;
      s.once('data', () => {
        idle.push(s);
        resolve();
      });
      s.write(frame);
    }));
    for (const s of idle) s.destroy();
    return { connectionCpuUs: connection.own, exchangeCpuUs: exchange.own };
  } finally {
    server.close();
  }
}

/** `db` as the server takes it (undefined: ACS_SQL_*); the database must exist. */
export async function measureSqlFloor(db: string | undefined, ms: number, meter: CpuMeter): Promise<SqlFloor> {
  const driver = await openDriver(storeLocation(db), false);
  try {
    let i = 0;
    const r = await cpuPerCall(ms, async () => {
      await driver.all('SELECT ? AS v', [i++]);
    }, meter);
    return { clientCpuUs: r.own, databaseCpuUs: r.database };
  } finally {
    await driver.close();
  }
}

/** I/O CPU of one attestation and the rate `cores` could sustain if that were all it cost. */
export function ioCeiling(tcp: TcpFloor, sql: SqlFloor, connections: number, statements: number, cores: number): { cpuUs: number; perS: number } {
  const perStatement = sql.clientCpuUs + (Number.isFinite(sql.databaseCpuUs) ? sql.databaseCpuUs : 0);
  const cpuUs = connections * tcp.connectionCpuUs + statements * perStatement;
  return { cpuUs, perS: (cores * 1e6) / cpuUs };
}
