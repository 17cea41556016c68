/**
 * The benchmarked acs-server in its own process (forked by server-handle.ts),
 * so its RSS and CPU are measured apart from the load generator. Server-side
 * time per request comes from the listener's one-line "request" log
 * (durationMs from accept to response written); the parent reads the
 * aggregates over IPC.
 */
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { startServer, type RunningServer } from '../../server/app.js';
import { resolveServerConfig } from '../../server/config.js';
import { openStore } from '../../db/open.js';
import { mysqlTraffic } from '../../db/mysql-traffic.js';
import { SqlStore } from '../../db/sql-store.js';
import type { SqlDriver, TxConnection } from '../../db/driver.js';
import type { Store } from '../../db/store.js';
import { keepInventory } from './file-inventory.js';

export interface ServerProcessConfig {
  db?: string;
  caDir: string;
  roots: string[];
  imaKeyFiles: string[];
  maxConnections: number;
  maxFrameBytes: number;
  /** Also keep a per-machine file inventory in each attestation's transaction (file-inventory.ts), to measure what it costs. */
  fileInventory?: boolean;
}

export interface CommandStats {
  count: number;
  /** Outcome ("ok" or error code) → count. */
  outcomes: Record<string, number>;
  /** The first reason logged for each failing outcome. */
  reasons: Record<string, string>;
  /** Server-side durations (ms); a uniform sample once more than MAX_SAMPLES arrived. */
  durationsMs: number[];
}

export interface ServerStats {
  rssBytes: number;
  /** Peak resident set size of the server process so far. */
  maxRssBytes: number;
  heapUsedBytes: number;
  /** CPU time the server process used, ms (user + system). */
  cpuMs: number;
  /** SQL statements the store sent (transaction control not counted) and transactions run. */
  sqlStatements: number;
  /** Every statement sent, those deferred into another's round trip included. */
  sqlStatementsSent: number;
  sqlRoundTrips: number;
  sqlTransactions: number;
  uptimeMs: number;
  commands: Record<string, CommandStats>;
}

export interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number;
  maxRssBytes: number;
  /** Connections the listener holds, and its request-byte accounts (server/buffer-budget.ts). */
  connections: number;
  requestBytes: { heldBytes: number; peakHeldBytes: number; reservedBytes: number; peakReservedBytes: number };
}

export type ToChild =
  | { id: number; type: 'stats'; reset: boolean }
  | { id: number; type: 'memory' }
  | { id: number; type: 'stop' };
export type FromChild =
  | { type: 'ready'; port: number }
  | { type: 'fatal'; message: string }
  | { id: number; type: 'stats'; stats: ServerStats }
  | { id: number; type: 'memory'; memory: MemorySample }
  | { id: number; type: 'stopped' };

const MAX_SAMPLES = 200_000;

class RequestStats {
  commands: Record<string, CommandStats> = {};
  private seen = 0;

  /** One JSON log line from pino; only the listener's "request" lines count. */
  record(line: string): void {
    if (!line.includes('"msg":"request"')) return;
    let entry: { command?: string; outcome?: string; durationMs?: number; reason?: string };
    try {
      entry = JSON.parse(line);
    } catch {
      return;
    }
    const c = (this.commands[entry.command ?? '(none)'] ??= { count: 0, outcomes: {}, reasons: {}, durationsMs: [] });
    c.count++;
    const outcome = entry.outcome ?? 'unknown';
    c.outcomes[outcome] = (c.outcomes[outcome] ?? 0) + 1;
    if (outcome !== 'ok' && c.reasons[outcome] === undefined) c.reasons[outcome] = String(entry.reason ?? '').slice(0, 300);
    if (typeof entry.durationMs !== 'number') return;
    this.seen++;
    if (c.durationsMs.length < MAX_SAMPLES) c.durationsMs.push(entry.durationMs);
    else {
      const j = Math.floor(Math.random() * this.seen);
      if (j < MAX_SAMPLES) c.durationsMs[j] = entry.durationMs;
    }
  }

  reset(): void {
    this.commands = {};
    this.seen = 0;
  }
}

/**
 * Counts what the store's driver sends; the server's code is untouched.
 * `statements` are the round trips that carry statements: each read or
 * write sent at once, and a COMMIT that carries deferred writes (BEGIN and a
 * bare COMMIT are transaction control). `sent` counts every statement,
 * deferred ones one by one. Round trips to MySQL/MariaDB are the driver's
 * own count (db/mysql-traffic.ts), START TRANSACTION's and COMMIT's
 * included; SQLite has none, so there they are the calls into it.
 */
class SqlCounter {
  statements = 0;
  sent = 0;
  transactions = 0;
  private calls = 0;
  private trafficBase = mysqlTraffic.roundTrips;
  private mysql = false;

  /** Every round trip: statements, START TRANSACTION where it goes alone, and each transaction's COMMIT. */
  get roundTrips(): number {
    return this.mysql ? mysqlTraffic.roundTrips - this.trafficBase : this.calls;
  }

  instrument(store: Store): void {
    if (!(store instanceof SqlStore)) return;
    const driver: SqlDriver = store.driver;
    this.mysql = driver.dialect === 'mysql';
    const all = driver.all.bind(driver);
    const run = driver.run.bind(driver);
    const now = (): void => {
      this.statements++;
      this.sent++;
      this.calls++;
    };
    driver.all = (sql, params) => (now(), all(sql, params));
    driver.run = (sql, params) => (now(), run(sql, params));
    const transaction = driver.transaction.bind(driver);
    driver.transaction = (fn) => {
      this.transactions++;
      return transaction(async (conn) => {
        // Writes deferred since the last statement travel with the COMMIT.
        let carried = false;
        const counted: TxConnection = {
          all: (sql, params) => ((carried = false), now(), conn.all(sql, params)),
          run: (sql, params) => ((carried = false), now(), conn.run(sql, params)),
          defer: (sql, params) => ((carried = true), this.sent++, conn.defer(sql, params)),
        };
        const result = await fn(counted);
        this.calls++;
        if (carried) this.statements++;
        return result;
      });
    };
  }

  reset(): void {
    this.statements = 0;
    this.sent = 0;
    this.transactions = 0;
    this.calls = 0;
    this.trafficBase = mysqlTraffic.roundTrips;
  }
}

function send(msg: FromChild): void {
  process.send?.(msg);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ServerProcessConfig;
  const requests = new RequestStats();
  const logger = pino({ name: 'acs-server', level: 'info' }, { write: (line: string) => requests.record(line) });
  const sql = new SqlCounter();
  let server: RunningServer;
  let store: SqlStore;
  try {
    store = await openStore(config.db, process.env, { create: true });
    sql.instrument(store);
    if (config.fileInventory && store instanceof SqlStore) keepInventory(store.driver);
    const { db: _db, fileInventory: _inventory, ...options } = config;
    server = await startServer({ config: resolveServerConfig({ ...options, port: 0, host: '127.0.0.1' }), store, logger });
  } catch (e) {
    send({ type: 'fatal', message: (e as Error).stack ?? String(e) });
    process.exit(1);
  }
  let cpuBase = process.cpuUsage();
  let timeBase = performance.now();
  process.on('message', (msg: ToChild) => {
    if (msg.type === 'stats') {
      const cpu = process.cpuUsage(cpuBase);
      const mem = process.memoryUsage();
      send({
        id: msg.id,
        type: 'stats',
        stats: {
          rssBytes: mem.rss,
          maxRssBytes: process.resourceUsage().maxRSS * 1024,
          heapUsedBytes: mem.heapUsed,
          cpuMs: (cpu.user + cpu.system) / 1000,
          sqlStatements: sql.statements,
          sqlStatementsSent: sql.sent,
          sqlRoundTrips: sql.roundTrips,
          sqlTransactions: sql.transactions,
          uptimeMs: performance.now() - timeBase,
          commands: requests.commands,
        },
      });
      if (msg.reset) {
        requests.reset();
        sql.reset();
        cpuBase = process.cpuUsage();
        timeBase = performance.now();
      }
    } else if (msg.type === 'memory') {
      const mem = process.memoryUsage();
      const { listener } = server;
      send({ id: msg.id, type: 'memory', memory: {
        rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, maxRssBytes: process.resourceUsage().maxRSS * 1024,
        connections: listener.connections, requestBytes: listener.memory,
      } });
    } else if (msg.type === 'stop') {
      void server.close().then(() => store.close()).finally(() => {
        send({ id: msg.id, type: 'stopped' });
        // Leave through a normal exit so --cpu-prof writes its profile.
        process.disconnect?.();
        setTimeout(() => process.exit(0), 100).unref();
      });
    }
  });
  send({ type: 'ready', port: server.port });
}

void main();
