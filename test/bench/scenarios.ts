/**
 * The scenarios that need a running server: enrollment rate, full
 * attestation with large IMA logs, sustained incremental attestation at
 * several concurrencies, and the server's memory over a steady run. Each
 * reports client-observed latency and the server's own time per request
 * (from its request log), and failures by ACS error code instead of
 * stopping.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchHost, Endpoint } from './bench-host.js';
import { addFailure, percentiles, runLoad, type Failures, type LoadResult, type Percentiles } from './load.js';
import type { BenchServer } from './server-handle.js';
import type { ServerStats } from './server-process.js';

/** What the server logged for one command over an interval. */
export interface ServerSide {
  count: number;
  outcomes: Record<string, number>;
  /** First reason the server gave per failing outcome. */
  reasons: Record<string, string>;
  durationMs: Percentiles;
}

export interface LoadScenario {
  load: LoadResult;
  /** Per command: enrollrequest / enrollcert or nonce / quote. */
  server: Record<string, ServerSide>;
  /** Server CPU time per successful operation, ms (both requests of it). */
  serverCpuMsPerOp: number;
  /** The same for the database server process (NaN unless it runs on this machine) and the load generator. */
  databaseCpuMsPerOp: number;
  clientCpuMsPerOp: number;
  /**
   * Per successful operation (failed ones' statements included): round trips
   * that carry statements (a COMMIT carrying deferred writes counts, BEGIN
   * and a bare COMMIT do not), every statement sent, every round trip, and
   * transactions.
   */
  sqlStatementsPerOp: number;
  sqlStatementsSentPerOp: number;
  sqlRoundTripsPerOp: number;
  sqlTransactionsPerOp: number;
  serverRssBytes: number;
}

function serverSide(stats: ServerStats): Record<string, ServerSide> {
  const out: Record<string, ServerSide> = {};
  for (const [cmd, c] of Object.entries(stats.commands)) {
    out[cmd] = { count: c.count, outcomes: c.outcomes, reasons: c.reasons, durationMs: percentiles(c.durationsMs) };
  }
  return out;
}

/** Runs a load and collects the server's view of exactly that interval. */
async function measured(server: BenchServer, run: () => Promise<LoadResult>): Promise<LoadScenario> {
  await server.stats(true);
  const cpu = server.cpu.sample();
  const load = await run();
  const others = server.cpu.since(cpu);
  const stats = await server.stats(true);
  return {
    load,
    server: serverSide(stats),
    serverCpuMsPerOp: load.ok > 0 ? stats.cpuMs / load.ok : NaN,
    databaseCpuMsPerOp: load.ok > 0 ? others.databaseMs / load.ok : NaN,
    clientCpuMsPerOp: load.ok > 0 ? others.clientMs / load.ok : NaN,
    sqlStatementsPerOp: load.ok > 0 ? stats.sqlStatements / load.ok : NaN,
    sqlStatementsSentPerOp: load.ok > 0 ? stats.sqlStatementsSent / load.ok : NaN,
    sqlRoundTripsPerOp: load.ok > 0 ? stats.sqlRoundTrips / load.ok : NaN,
    sqlTransactionsPerOp: load.ok > 0 ? stats.sqlTransactions / load.ok : NaN,
    serverRssBytes: stats.rssBytes,
  };
}

export interface EnrollmentRun extends LoadScenario {
  /** Hosts enrolled, by the measured run or the retry. */
  enrolled: BenchHost[];
  /** Hosts whose enrollment failed under load, enrolled again one at a time (not measured). */
  retried: { attempted: number; ok: number; failures: Failures };
}

/**
 * Enrolls every host once, `concurrency` at a time; hosts refused under load
 * are then retried one at a time (up to 3 times each), as a client would, so
 * the later scenarios still have a fleet.
 */
export async function enrollment(server: BenchServer, ep: Endpoint, hosts: BenchHost[], concurrency: number): Promise<EnrollmentRun> {
  let next = 0;
  const done = new Set<BenchHost>();
  const run = await measured(server, () => runLoad({
    concurrency,
    maxOps: hosts.length,
    maxMs: 300_000,
    abortAfterFailures: hosts.length,
    op: async () => {
      const h = hosts[next++];
      await h.enroll(ep);
      done.add(h);
    },
  }));
  const retried = { attempted: 0, ok: 0, failures: {} as Failures };
  for (const h of hosts.filter((x) => !done.has(x))) {
    retried.attempted++;
    for (let attempt = 0; attempt < 3 && !done.has(h); attempt++) {
      try {
        await h.enroll(ep);
        done.add(h);
        retried.ok++;
      } catch (e) {
        addFailure(retried.failures, e);
      }
    }
  }
  return { ...run, enrolled: hosts.filter((h) => done.has(h)), retried };
}

/** Every host's first attestation after enrollment: full firmware log and its boot's IMA log. */
export function firstAttestation(server: BenchServer, ep: Endpoint, hosts: BenchHost[], concurrency: number): Promise<LoadScenario> {
  let next = 0;
  return measured(server, () => runLoad({
    concurrency,
    maxOps: hosts.length,
    maxMs: 300_000,
    op: async () => { await hosts[next++].attest(ep); },
  }));
}

export interface FullAttestation {
  imaEvents: number;
  firmwareEvents: number;
  attempts: number;
  ok: number;
  failures: Failures;
  /** The quote request alone, as the server logged it (accept to response written). */
  serverQuoteMs: Percentiles;
  /** The quote request alone, from connect to response read. */
  clientQuoteMs: Percentiles;
  serverNonceMs: Percentiles;
  /** CPU per attestation (nonce and quote) of the server process and of the database server (NaN unless on this machine). */
  serverCpuMs: Percentiles;
  databaseCpuMs: Percentiles;
  quoteRequestBytes: number;
  /** SQL statements per attestation (nonce and quote), mean over the repetitions. */
  sqlStatementsPerAttestation: number;
  /** Server reasons per failing outcome. */
  reasons: Record<string, string>;
}

/**
 * Full attestations of one host with an IMA log of `imaEvents` entries: each
 * repetition reboots it (a new boot time, fresh file digests and signatures,
 * so the server's signature cache never answers) and sends everything.
 */
export async function fullAttestation(server: BenchServer, ep: Endpoint, host: BenchHost, imaEvents: number, reps: number): Promise<FullAttestation> {
  const serverQuote: number[] = [];
  const serverNonce: number[] = [];
  const client: number[] = [];
  const failures: Failures = {};
  const reasons: Record<string, string> = {};
  let ok = 0;
  let bytes = 0;
  let firmwareEvents = 0;
  let statements = 0;
  const serverCpu: number[] = [];
  const databaseCpu: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    host.reboot(imaEvents - 1);
    await server.stats(true);
    const cpu = server.cpu.sample();
    try {
      const t = await host.attest(ep, true);
      ok++;
      client.push(t.quoteMs);
      bytes = t.quoteBytes ?? 0;
      firmwareEvents = t.firmwareEvents;
    } catch (e) {
      addFailure(failures, e);
    }
    databaseCpu.push(server.cpu.since(cpu).databaseMs);
    const stats = await server.stats(true);
    serverCpu.push(stats.cpuMs);
    statements += stats.sqlStatements;
    serverQuote.push(...(stats.commands.quote?.durationsMs ?? []));
    serverNonce.push(...(stats.commands.nonce?.durationsMs ?? []));
    Object.assign(reasons, stats.commands.quote?.reasons ?? {}, stats.commands.nonce?.reasons ?? {});
  }
  return {
    imaEvents,
    firmwareEvents,
    attempts: reps,
    ok,
    failures,
    serverQuoteMs: percentiles(serverQuote),
    clientQuoteMs: percentiles(client),
    serverNonceMs: percentiles(serverNonce),
    serverCpuMs: percentiles(serverCpu),
    databaseCpuMs: percentiles(databaseCpu),
    quoteRequestBytes: bytes,
    sqlStatementsPerAttestation: statements / reps,
    reasons,
  };
}

export interface IncrementalRun extends LoadScenario {
  newEvents: number;
  concurrency: number;
}

/**
 * Sustained incremental attestation: `concurrency` hosts, each attesting
 * again as soon as its previous attestation finished, measuring `newEvents`
 * new files before each. Worker i drives hosts[i] only, so no host ever has
 * two attestations in flight.
 */
export function incremental(
  server: BenchServer,
  ep: Endpoint,
  hosts: BenchHost[],
  newEvents: number,
  concurrency: number,
  maxMs: number,
): Promise<IncrementalRun> {
  if (hosts.length < concurrency) throw new RangeError(`${concurrency} concurrent attestations need ${concurrency} hosts, have ${hosts.length}`);
  return measured(server, () => runLoad({
    concurrency,
    maxOps: Math.ceil(maxMs * 20),
    maxMs,
    op: async (w) => {
      if (newEvents > 0) hosts[w].measureFiles(newEvents);
      await hosts[w].attest(ep);
    },
  })).then((s) => ({ ...s, newEvents, concurrency }));
}

export interface MemoryRun {
  newEvents: number;
  concurrency: number;
  durationS: number;
  attestations: number;
  failed: number;
  failures: Failures;
  perSecond: number;
  /** RSS samples after the warm-up, seconds since it ended. */
  samples: { tS: number; rssBytes: number; heapUsedBytes: number }[];
  /** Median RSS of the last quarter of samples over the first quarter, minus one, in percent. */
  rssDriftPct: number;
  peakRssBytes: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)];
}

/**
 * A steady incremental run sampling the server's RSS: after `warmupMs` of
 * the same load (not sampled), RSS is read every `sampleMs`. Drift compares
 * the last quarter of the samples with the first.
 */
export async function memoryRun(
  server: BenchServer,
  ep: Endpoint,
  hosts: BenchHost[],
  opts: { newEvents: number; concurrency: number; warmupMs: number; durationMs: number; sampleMs: number },
): Promise<MemoryRun> {
  await incremental(server, ep, hosts, opts.newEvents, opts.concurrency, opts.warmupMs);
  const samples: MemoryRun['samples'] = [];
  let running = true;
  const t0 = performance.now();
  const sampler = (async () => {
    while (running) {
      const m = await server.memory();
      samples.push({ tS: (performance.now() - t0) / 1000, rssBytes: m.rssBytes, heapUsedBytes: m.heapUsedBytes });
      await sleep(opts.sampleMs);
    }
  })();
  let run: IncrementalRun;
  try {
    run = await incremental(server, ep, hosts, opts.newEvents, opts.concurrency, opts.durationMs);
  } finally {
    running = false;
    await sampler;
  }
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const first = median(samples.slice(0, quarter).map((s) => s.rssBytes));
  const last = median(samples.slice(-quarter).map((s) => s.rssBytes));
  return {
    newEvents: opts.newEvents,
    concurrency: opts.concurrency,
    durationS: run.load.elapsedS,
    attestations: run.load.ok,
    failed: run.load.failed,
    failures: run.load.failures,
    perSecond: run.load.perSecond,
    samples,
    rssDriftPct: ((last - first) / first) * 100,
    peakRssBytes: (await server.memory()).maxRssBytes,
  };
}
