/**
 * Benchmark results: the JSON document (every figure, the summary, the
 * machine and commit) and the human table printed on stdout, with the
 * targets beside the measured values.
 */
import type { FrameAttackResult } from './frame-attack.js';
import type { ParserFigures } from './parsers.js';
import type { Floor } from './floor.js';
import { ioCeiling, type SqlFloor, type TcpFloor } from './io-floor.js';
import type { Failures, Percentiles } from './load.js';
import type { FailoverRun } from './failover.js';
import type { FullAttestation, IncrementalRun, LoadScenario, MemoryRun } from './scenarios.js';

export const TARGETS = {
  incrementalAttestationsPerS: 2500,
  incrementalP99Ms: 50,
  imaEventsPerSPerCore: 500_000,
  full10kServerMs: 100,
  incrementalServerDbCpuMs: 1.5,
  incrementalSqlStatements: 4,
  p99NoNewEventsC64Ms: 100,
  imaRatioToHashFloor: 0.95,
  rssDriftPct: 10,
} as const;

export interface DatabaseResults {
  label: string;
  dialect: string;
  /** Set when the run against this database stopped early. */
  error?: string;
  /** The cost of losing the preferred node of a cluster (--galera). */
  failover?: FailoverRun;
  /** Which database server processes the database CPU figures are, or why they are null. */
  databaseCpuMeasured?: string;
  enrollment?: LoadScenario & { retried: { attempted: number; ok: number; failures: Failures } };
  firstAttestation?: LoadScenario;
  /** One `SELECT ?` round trip's CPU, measured against this database in the same run. */
  sqlFloor?: SqlFloor;
  full: FullAttestation[];
  incremental: IncrementalRun[];
  memory?: MemoryRun;
  /** Peak RSS before the full attestations (enrollment, steady and incremental runs). */
  serverPeakRssBeforeFullBytes?: number;
  /** Peak RSS of the whole run, full attestations with large logs included. */
  serverPeakRssBytes?: number;
  /** A fresh server under 64 declared-but-unsent 16 MiB frames. */
  frameAttack?: FrameAttackResult;
}

export interface Summary {
  database: string | null;
  incremental_attestations_per_s: number | null;
  incremental_p99_ms: number | null;
  incremental_concurrency: number | null;
  incremental_new_events: number;
  /** Server CPU time per attestation at that concurrency: the figure least disturbed by other load. */
  incremental_server_cpu_ms: number | null;
  /** The database server's (when on this machine) and the load generator's CPU per attestation at that concurrency. */
  incremental_database_cpu_ms: number | null;
  /** Server plus database CPU per attestation; null when the database's could not be measured. */
  incremental_server_db_cpu_ms: number | null;
  /** Round trips to the database carrying statements per attestation, nonce and quote (BEGIN and a bare COMMIT not counted). */
  incremental_sql_statements: number | null;
  /** Every statement those round trips carried. */
  incremental_sql_statements_sent: number | null;
  /** Every round trip to the database per attestation, as the driver counted them: START TRANSACTION and a bare COMMIT included. */
  incremental_sql_round_trips: number | null;
  /** p99 latency with no new IMA entries at concurrency 64. */
  incremental_p99_ms_no_new_events_c64: number | null;
  incremental_client_cpu_ms: number | null;
  /** CPU of that attestation's two TCP connections and its SQL statements alone, from the I/O floor, ms. */
  incremental_io_floor_cpu_ms: number | null;
  /** The rate this machine's cores could sustain if that I/O were all an attestation cost. */
  incremental_io_ceiling_per_s: number | null;
  full_10k_server_ms: number | null;
  full_10k_client_ms: number | null;
  ima_events_per_s: number | null;
  ima_events_per_s_sha256_log: number | null;
  /** IMA verify + replay against the hash floor (digests as strings), SHA-1 and SHA-256 logs. */
  ima_ratio_to_hash_floor: number | null;
  ima_ratio_to_hash_floor_sha256_log: number | null;
  /** The same against the floor with digests as Buffers, as the floor was first defined. */
  ima_ratio_to_buffer_hash_floor: number | null;
  ima_sig_events_per_s: number | null;
  ima_sig_ratio_to_rsa_floor: number | null;
  floor_rsa_verify_per_s: number | null;
  floor_p256_verify_per_s: number | null;
  rss_drift_pct: number | null;
  rss_drift_window_s: number | null;
  server_peak_rss_mb: number | null;
  /** Peak RSS of a fresh server (default limits) while 64 frames declaring 16 MiB are sent all but their last byte, and its RSS after they close. */
  frame_attack_peak_rss_mb: number | null;
  frame_attack_rss_after_mb: number | null;
  /** Every failure seen, "scenario: code ×count (message)". */
  failures: string[];
}

export interface BenchReport {
  schema: 'acs-bench/1';
  startedAt: string;
  finishedAt: string;
  durationS: number;
  commit: string;
  dirtyTree: boolean;
  machine: Record<string, unknown>;
  options: Record<string, unknown>;
  phasesS: Record<string, number>;
  targets: typeof TARGETS;
  notes: string[];
  floor?: Floor;
  tcpFloor?: TcpFloor;
  parsers?: ParserFigures;
  databases: DatabaseResults[];
  summary: Summary;
}

const finite = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);

function failureLines(scenario: string, f: Failures | undefined): string[] {
  return Object.entries(f ?? {}).map(([code, v]) => `${scenario}: ${code} ×${v.count} (${v.message})`);
}

export function collectFailures(db: DatabaseResults): string[] {
  const out: string[] = [];
  if (db.error) out.push(`${db.label}: stopped: ${db.error}`);
  out.push(...failureLines(`${db.label} enrollment`, db.enrollment?.load.failures));
  out.push(...failureLines(`${db.label} enrollment retried one at a time`, db.enrollment?.retried.failures));
  out.push(...failureLines(`${db.label} first attestation`, db.firstAttestation?.load.failures));
  for (const f of db.full) out.push(...failureLines(`${db.label} full ${f.imaEvents}`, f.failures));
  for (const r of db.incremental) out.push(...failureLines(`${db.label} incremental +${r.newEvents} c=${r.concurrency}`, r.load.failures));
  out.push(...failureLines(`${db.label} memory run`, db.memory?.failures));
  return out;
}

/** Each incremental attestation opens two connections: the nonce request's and the quote's (one request per connection). */
const CONNECTIONS_PER_ATTESTATION = 2;

/**
 * The I/O floor of one run's attestations: its TCP connections and every SQL
 * round trip it made (statements and COMMITs), each at the cost the floor
 * measured, and the rate `cores` would sustain on that I/O alone.
 */
export function runIoCeiling(tcp: TcpFloor | undefined, db: DatabaseResults, r: IncrementalRun, cores: number): { cpuUs: number; perS: number } | undefined {
  if (!tcp || !db.sqlFloor || !Number.isFinite(r.sqlRoundTripsPerOp)) return undefined;
  return ioCeiling(tcp, db.sqlFloor, CONNECTIONS_PER_ATTESTATION, r.sqlRoundTripsPerOp, cores);
}

export interface SummaryInput {
  floor: Floor | undefined;
  tcpFloor: TcpFloor | undefined;
  parsers: ParserFigures | undefined;
  databases: DatabaseResults[];
  cores: number;
}

export function buildSummary({ floor, tcpFloor, parsers, databases: dbs, cores }: SummaryInput, newEvents: number): Summary {
  const primary = dbs[0];
  const attempted = (primary?.incremental ?? []).filter((r) => r.newEvents === newEvents);
  const runs = attempted.filter((r) => r.load.ok > 0);
  const best = runs.reduce<IncrementalRun | undefined>((b, r) => (!b || r.load.perSecond > b.load.perSecond ? r : b), undefined);
  const ceiling = best && primary ? runIoCeiling(tcpFloor, primary, best, cores) : undefined;
  const full10k = primary?.full.find((f) => f.imaEvents === 10_000);
  const ima = parsers?.ima;
  return {
    database: primary?.label ?? null,
    // 0 when it ran and every attestation failed (see failures), null when it did not run.
    incremental_attestations_per_s: best ? best.load.perSecond : attempted.length > 0 ? 0 : null,
    incremental_p99_ms: finite(best?.load.latencyMs.p99),
    incremental_concurrency: best?.concurrency ?? null,
    incremental_new_events: newEvents,
    incremental_server_cpu_ms: finite(best?.serverCpuMsPerOp),
    incremental_database_cpu_ms: finite(best?.databaseCpuMsPerOp),
    incremental_server_db_cpu_ms: finite((best?.serverCpuMsPerOp ?? NaN) + (best?.databaseCpuMsPerOp ?? NaN)),
    incremental_sql_statements: finite(best?.sqlStatementsPerOp),
    incremental_sql_statements_sent: finite(best?.sqlStatementsSentPerOp),
    incremental_sql_round_trips: finite(best?.sqlRoundTripsPerOp),
    incremental_p99_ms_no_new_events_c64: finite(primary?.incremental.find((r) => r.newEvents === 0 && r.concurrency === 64 && r.load.ok > 0)?.load.latencyMs.p99),
    incremental_client_cpu_ms: finite(best?.clientCpuMsPerOp),
    incremental_io_floor_cpu_ms: ceiling ? ceiling.cpuUs / 1000 : null,
    incremental_io_ceiling_per_s: finite(ceiling?.perS),
    full_10k_server_ms: finite(full10k?.serverQuoteMs.p50),
    full_10k_client_ms: finite(full10k?.clientQuoteMs.p50),
    ima_events_per_s: finite(ima?.sha1.verifyReplayEventsPerS),
    ima_events_per_s_sha256_log: finite(ima?.sha256.verifyReplayEventsPerS),
    ima_ratio_to_hash_floor: ima && floor ? ima.sha1.verifyReplayEventsPerS / floor.imaHashFloorSha1LogPerS : null,
    ima_ratio_to_hash_floor_sha256_log: ima && floor ? ima.sha256.verifyReplayEventsPerS / floor.imaHashFloorSha256LogPerS : null,
    ima_ratio_to_buffer_hash_floor: ima && floor ? ima.sha1.verifyReplayEventsPerS / floor.imaBufferHashFloorSha1LogPerS : null,
    ima_sig_events_per_s: finite(ima?.sha1.verifyReplaySigEventsPerS),
    ima_sig_ratio_to_rsa_floor: ima && floor ? ima.sha1.verifyReplaySigEventsPerS / floor.rsa2048VerifyPerS : null,
    floor_rsa_verify_per_s: finite(floor?.rsa2048VerifyPerS),
    floor_p256_verify_per_s: finite(floor?.p256VerifyPerS),
    rss_drift_pct: finite(primary?.memory?.rssDriftPct),
    rss_drift_window_s: finite(primary?.memory?.durationS),
    server_peak_rss_mb: primary?.serverPeakRssBytes ? primary.serverPeakRssBytes / 2 ** 20 : null,
    frame_attack_peak_rss_mb: primary?.frameAttack ? primary.frameAttack.peakRssBytes / 2 ** 20 : null,
    frame_attack_rss_after_mb: primary?.frameAttack ? primary.frameAttack.rssAfterBytes / 2 ** 20 : null,
    failures: dbs.flatMap(collectFailures),
  };
}

// ---- human table -------------------------------------------------------

const mib = (bytes: number): string => Math.round(bytes / 2 ** 20).toLocaleString('en-US');

function frameAttackRows(a: FrameAttackResult | undefined): string[][] {
  if (!a) return [];
  return [
    [`${a.connections} frames declaring ${mib(a.declaredBytes)} MiB, all but 1 byte sent: server peak RSS, MiB`, mib(a.peakRssBytes), `budget ${mib(a.budgetBytes)} MiB + ${mib(a.baselineRssBytes)} MiB before`],
    ['  request bytes held at most / RSS after the sockets closed, MiB', `${mib(a.peakHeldBytes)} / ${mib(a.rssAfterBytes)}`, ''],
  ];
}

const int = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : Math.round(x).toLocaleString('en-US'));
const us = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '—');
const ms = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));
/** Where an attestation's CPU went: server + database + load generator (the three share this machine's cores). */
const cpuSplit = (r: IncrementalRun): string => `${ms(r.serverCpuMsPerOp)}+${ms(r.databaseCpuMsPerOp)}+${ms(r.clientCpuMsPerOp)}`;
const times = (x: number | null): string => (x === null ? '—' : `${x.toFixed(2)}×`);
const ratio = (a: number, b: number): string => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '—');
const mb = (b: number | undefined): string => (b === undefined ? '—' : `${(b / 2 ** 20).toFixed(0)} MiB`);

function table(rows: string[][], indent = '  '): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => indent + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

function failuresText(f: Failures | undefined): string {
  const e = Object.entries(f ?? {});
  return e.length === 0 ? '' : e.map(([code, v]) => `${code}×${v.count}`).join(' ');
}

function serverP(s: LoadScenario | undefined, cmd: string): Percentiles | undefined {
  return s?.server[cmd]?.durationMs;
}

/** The first reason the server logged for each error code it answered. */
function serverReasons(db: DatabaseResults): Record<string, string> {
  const reasons: Record<string, string> = {};
  for (const s of [db.enrollment, db.firstAttestation, ...db.incremental]) {
    for (const side of Object.values(s?.server ?? {})) for (const [o, why] of Object.entries(side.reasons)) reasons[o] ??= why;
  }
  for (const f of db.full) for (const [o, why] of Object.entries(f.reasons)) reasons[o] ??= why;
  return reasons;
}

function databaseSection(db: DatabaseResults, tcp: TcpFloor | undefined, cores: number): string {
  const out: string[] = [`Server with ${db.label} (server in its own process; latency in ms)`];
  if (db.error) out.push(`  STOPPED: ${db.error}`);
  if (db.sqlFloor) {
    out.push(`  SQL floor: one \`SELECT ?\` round trip costs ${us(db.sqlFloor.clientCpuUs)} µs of CPU here`
      + `${Number.isFinite(db.sqlFloor.databaseCpuUs) ? ` + ${us(db.sqlFloor.databaseCpuUs)} µs in the database server` : ''}`);
  }
  const rows: string[][] = [['scenario', 'ok', 'per s', 'client p50', 'p99', 'server p50', 'p99', 'failures']];
  for (const [name, s, cmds] of [
    ['enrollment', db.enrollment, ['enrollrequest', 'enrollcert']],
    ['first attestation', db.firstAttestation, ['nonce', 'quote']],
  ] as const) {
    if (!s) continue;
    const server = cmds.map((c) => serverP(s, c));
    rows.push([
      `${name} (c=${s.load.concurrency})`, int(s.load.ok), int(s.load.perSecond), ms(s.load.latencyMs.p50), ms(s.load.latencyMs.p99),
      server.map((p) => ms(p?.p50)).join('+'), server.map((p) => ms(p?.p99)).join('+'), failuresText(s.load.failures),
    ]);
  }
  if (rows.length > 1) out.push(table(rows));
  const retried = db.enrollment?.retried;
  if (retried && retried.attempted > 0) out.push(`  enrollments refused under load, retried one at a time: ${retried.ok}/${retried.attempted} succeeded`);
  if (db.full.length > 0) {
    out.push('  full attestation (quote request alone; new boot, whole firmware and IMA logs)');
    const fr: string[][] = [['IMA entries', 'ok/tries', 'request', 'server p50', 'max', 'client p50', 'target', 'CPU ms srv+db p50', 'SQL/att', 'failures']];
    for (const f of db.full) {
      fr.push([
        int(f.imaEvents), `${f.ok}/${f.attempts}`, `${(f.quoteRequestBytes / 2 ** 20).toFixed(1)} MiB`, ms(f.serverQuoteMs.p50), ms(f.serverQuoteMs.max),
        ms(f.clientQuoteMs.p50), f.imaEvents === 10_000 ? `< ${TARGETS.full10kServerMs}` : '', `${ms(f.serverCpuMs.p50)}+${ms(f.databaseCpuMs.p50)}`,
        int(f.sqlStatementsPerAttestation), failuresText(f.failures),
      ]);
    }
    out.push(table(fr, '    '));
  }
  if (db.incremental.length > 0) {
    out.push(`  incremental attestation (nonce + quote; target ≥ ${int(TARGETS.incrementalAttestationsPerS)}/s with p99 < ${TARGETS.incrementalP99Ms} ms)`);
    const ir: string[][] = [['new IMA', 'conc', 'att/s', 'p50', 'p95', 'p99', 'srv nonce p50', 'srv quote p50', 'p99', 'CPU ms/att srv+db+gen', 'SQL/att (sent), round trips', 'I/O ms → ceiling/s', 'failures']];
    for (const r of db.incremental) {
      const io = runIoCeiling(tcp, db, r, cores);
      ir.push([
        String(r.newEvents), String(r.concurrency), int(r.load.perSecond), ms(r.load.latencyMs.p50), ms(r.load.latencyMs.p95), ms(r.load.latencyMs.p99),
        ms(serverP(r, 'nonce')?.p50), ms(serverP(r, 'quote')?.p50), ms(serverP(r, 'quote')?.p99), cpuSplit(r),
        `${ms(r.sqlStatementsPerOp)} (${ms(r.sqlStatementsSentPerOp)}), ${ms(r.sqlRoundTripsPerOp)} in ${ms(r.sqlTransactionsPerOp)} tx`, io ? `${ms(io.cpuUs / 1000)} → ${int(io.perS)}` : '—', failuresText(r.load.failures),
      ]);
    }
    out.push(table(ir, '    '));
  }
  if (db.memory) {
    const m = db.memory;
    out.push(`  memory: peak RSS ${mb(db.serverPeakRssBytes)} (${mb(db.serverPeakRssBeforeFullBytes)} before the full attestations); steady run of ${m.durationS.toFixed(0)} s at c=${m.concurrency}, +${m.newEvents} IMA: `
      + `${int(m.perSecond)} att/s, RSS ${mb(m.samples[0]?.rssBytes)} → ${mb(m.samples[m.samples.length - 1]?.rssBytes)}, drift ${m.rssDriftPct.toFixed(1)}%`);
  }
  if (db.failover) {
    const f = db.failover;
    out.push(`  failover (preferred node killed at c=${f.concurrency}, +10 IMA): ${f.secondsWithoutService.toFixed(2)} s without service, `
      + `${f.failed} attestations answered an error (${failuresText(f.failures)}) and repeated by the client, ${f.heldOverOneSecond} held over 1 s; `
      + `${f.attestations} completed; node rejoined (IST, Synced) in ${f.rejoinS.toFixed(1)} s`);
  }
  for (const [outcome, reason] of Object.entries(serverReasons(db))) out.push(`  server refused with ${outcome}: ${reason}`);
  return out.join('\n');
}

export function formatReport(r: BenchReport): string {
  const m = r.machine;
  const out: string[] = [
    `ACS benchmark — commit ${r.commit.slice(0, 12)}${r.dirtyTree ? ' (uncommitted changes)' : ''}, ${m.cpus} × ${m.cpuModel}, `
      + `${((m.memoryBytes as number) / 2 ** 30).toFixed(1)} GiB, node ${m.node}, load average at start ${m.loadavgStart}`,
  ];
  for (const n of r.notes) out.push(`  note: ${n}`);
  const f = r.floor;
  if (f) {
    out.push('', 'Floor (Node crypto on one core, this run)');
    out.push(table([
      ['RSA-2048 verify', `${int(f.rsa2048VerifyPerS)} /s`],
      ['ECDSA P-256 verify', `${int(f.p256VerifyPerS)} /s`],
      [`SHA-256 of ${f.sampleTemplateDataBytes}-byte template data`, `${int(f.sha256PerS)} /s`],
      [`SHA-1 of ${f.sampleTemplateDataBytes}-byte template data`, `${int(f.sha1PerS)} /s`],
      ['IMA hash floor, SHA-1 log (SHA-1 + SHA-256 + extend)', `${int(f.imaHashFloorSha1LogPerS)} entries/s`],
      ['IMA hash floor, SHA-256 log (SHA-256 + extend)', `${int(f.imaHashFloorSha256LogPerS)} entries/s`],
      ['  the same, digests as Buffers (SHA-1 / SHA-256 log)', `${int(f.imaBufferHashFloorSha1LogPerS)} / ${int(f.imaBufferHashFloorSha256LogPerS)} entries/s`],
    ]));
  }
  const t = r.tcpFloor;
  if (t) {
    out.push('', 'TCP floor (loopback, both ends in one process, CPU per operation)');
    out.push(table([
      ['connection: connect, one small frame each way, close', `${us(t.connectionCpuUs)} µs`],
      ['one small frame each way on an open connection', `${us(t.exchangeCpuUs)} µs`],
    ]));
  }
  const p = r.parsers;
  if (p && f) {
    out.push('', 'Event-log code alone (one core)');
    const rows: string[][] = [['', 'events/s', 'vs floor', 'target']];
    rows.push(['firmware, kernel file: parse + replay', int(p.firmware.kernelFormEventsPerS), '', '']);
    rows.push(['firmware, IBM wire form: decode + replay', int(p.firmware.wireFormEventsPerS), '', '']);
    for (const alg of ['sha1', 'sha256'] as const) {
      const x = p.ima[alg];
      const hashFloor = alg === 'sha1' ? f.imaHashFloorSha1LogPerS : f.imaHashFloorSha256LogPerS;
      rows.push([`IMA ${alg} template hash: parse`, int(x.parseEventsPerS), '', '']);
      rows.push([`IMA ${alg}: parse + verify + replay`, int(x.verifyReplayEventsPerS), `${ratio(x.verifyReplayEventsPerS, hashFloor)} hash`, `≥ ${int(TARGETS.imaEventsPerSPerCore)}`]);
      rows.push([`IMA ${alg}: + ima-sig RSA check (all signed)`, int(x.verifyReplaySigEventsPerS), `${ratio(x.verifyReplaySigEventsPerS, f.rsa2048VerifyPerS)} RSA`, '']);
      rows.push([`IMA ${alg}: server checkImaEvents (no replay)`, int(x.serverCheckEventsPerS), '', '']);
      rows.push([`IMA ${alg}: server checkImaEvents, all signed`, int(x.serverCheckSigEventsPerS), `${ratio(x.serverCheckSigEventsPerS, f.rsa2048VerifyPerS)} RSA`, '']);
      if (!x.replayMatches || x.signaturesOk !== x.signedEvents - 1) {
        rows.push([`  CHECK FAILED: replay ${x.replayMatches ? 'ok' : 'wrong'}, ${x.signaturesOk}/${x.signedEvents - 1} signatures ok`, '', '', '']);
      }
    }
    out.push(table(rows));
  }
  for (const db of r.databases) out.push('', databaseSection(db, r.tcpFloor, m.cpus as number));
  const s = r.summary;
  out.push('', `Summary (${s.database ?? 'no server run'})`);
  out.push(table([
    ['', 'measured', 'target'],
    [`incremental attestations/s (+${s.incremental_new_events} IMA, best concurrency ${s.incremental_concurrency ?? '—'})`, int(s.incremental_attestations_per_s), `≥ ${int(TARGETS.incrementalAttestationsPerS)}`],
    ['  p99 latency at that concurrency, ms', ms(s.incremental_p99_ms), `< ${TARGETS.incrementalP99Ms}`],
    ['  server CPU per attestation, ms', ms(s.incremental_server_cpu_ms), `< ${ms(1000 / TARGETS.incrementalAttestationsPerS)} (target on 1 core)`],
    ['  database / load generator CPU per attestation, ms', `${ms(s.incremental_database_cpu_ms)} / ${ms(s.incremental_client_cpu_ms)}`, ''],
    ['  server + database CPU per attestation, ms', ms(s.incremental_server_db_cpu_ms), `≤ ${TARGETS.incrementalServerDbCpuMs}`],
    ['  SQL round trips with statements per attestation (statements sent)', `${ms(s.incremental_sql_statements)} (${ms(s.incremental_sql_statements_sent)})`, `≤ ${TARGETS.incrementalSqlStatements}`],
    ['  SQL round trips per attestation in all, transaction control included', ms(s.incremental_sql_round_trips), ''],
    ['p99 latency, no new IMA entries, concurrency 64, ms', ms(s.incremental_p99_ms_no_new_events_c64), `< ${TARGETS.p99NoNewEventsC64Ms}`],
    ['  I/O floor: its TCP connections and SQL round trips alone, CPU ms', ms(s.incremental_io_floor_cpu_ms), ''],
    [`  ceiling of that I/O on ${m.cpus} cores, att/s`, int(s.incremental_io_ceiling_per_s), ''],
    ['full attestation, 10,000 IMA entries: server ms (p50)', ms(s.full_10k_server_ms), `< ${TARGETS.full10kServerMs}`],
    ['IMA verify + replay, SHA-1 log, events/s/core', int(s.ima_events_per_s), `≥ ${int(TARGETS.imaEventsPerSPerCore)}`],
    ['  ratio to the hash floor (SHA-1 / SHA-256 log)', `${times(s.ima_ratio_to_hash_floor)} / ${times(s.ima_ratio_to_hash_floor_sha256_log)}`, `≥ ${TARGETS.imaRatioToHashFloor}×`],
    ['  ratio to the floor with Buffer digests (SHA-1 log)', times(s.ima_ratio_to_buffer_hash_floor), ''],
    ['floor: RSA-2048 verify/s', int(s.floor_rsa_verify_per_s), ''],
    [`server RSS drift over ${s.rss_drift_window_s === null ? '—' : s.rss_drift_window_s.toFixed(0)} s, %`, s.rss_drift_pct === null ? '—' : s.rss_drift_pct.toFixed(1), `±${TARGETS.rssDriftPct} (--long)`],
    ['server peak RSS, MiB', int(s.server_peak_rss_mb), ''],
    ...frameAttackRows(r.databases[0]?.frameAttack),
  ]));
  if (s.failures.length > 0) {
    out.push('', 'Failures');
    for (const line of s.failures) out.push(`  ${line}`);
  }
  return out.join('\n');
}
