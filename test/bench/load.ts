/**
 * Closed-loop load: `concurrency` workers each run one operation after the
 * other until a count or a time limit is reached, whichever comes first.
 * Failures are counted by ACS error code (or transport error name), never
 * thrown, so a scenario against a half-finished server still reports.
 */
import { performance } from 'node:perf_hooks';
import { AcsError, describeError, formatErrorCode } from '../../shared/protocol/errors.js';

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function percentiles(samples: readonly number[]): Percentiles {
  const n = samples.length;
  if (n === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const s = Float64Array.from(samples).sort();
  const at = (q: number): number => s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  let sum = 0;
  for (const v of s) sum += v;
  return { count: n, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[n - 1], mean: sum / n };
}

export interface FailureCount {
  count: number;
  /** The first message seen with this code. */
  message: string;
}

/** Failures by ACS error code ("90000020") or error name ("ConnectionClosedError"). */
export type Failures = Record<string, FailureCount>;

export function failureKey(err: unknown): { key: string; message: string } {
  if (err instanceof AcsError) return { key: formatErrorCode(err.code), message: err.message || describeError(err.code) };
  if (err instanceof Error) return { key: err.name, message: err.message };
  return { key: 'unknown', message: String(err) };
}

export function addFailure(failures: Failures, err: unknown): void {
  const { key, message } = failureKey(err);
  const f = failures[key];
  if (f) f.count++;
  else failures[key] = { count: 1, message: message.slice(0, 300) };
}

export interface LoadOptions {
  concurrency: number;
  /** Most operations started, over all workers. */
  maxOps: number;
  /** No operation starts after this many milliseconds. */
  maxMs: number;
  /** Give up early when this many operations failed and none succeeded. */
  abortAfterFailures?: number;
  op: (worker: number) => Promise<void>;
}

export interface LoadResult {
  concurrency: number;
  ok: number;
  failed: number;
  failures: Failures;
  elapsedS: number;
  /** Successful operations per second of wall time. */
  perSecond: number;
  /** Client-observed milliseconds of successful operations. */
  latencyMs: Percentiles;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const failures: Failures = {};
  let started = 0;
  let failed = 0;
  const abortAfter = opts.abortAfterFailures ?? 200;
  const t0 = performance.now();
  const deadline = t0 + opts.maxMs;
  const worker = async (w: number): Promise<void> => {
    while (started < opts.maxOps && performance.now() < deadline && !(failed >= abortAfter && latencies.length === 0)) {
      started++;
      const s = performance.now();
      try {
        await opts.op(w);
        latencies.push(performance.now() - s);
      } catch (e) {
        failed++;
        addFailure(failures, e);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
  const elapsedS = (performance.now() - t0) / 1000;
  return {
    concurrency: opts.concurrency,
    ok: latencies.length,
    failed,
    failures,
    elapsedS,
    perSecond: latencies.length / elapsedS,
    latencyMs: percentiles(latencies),
  };
}
