/**
 * Drives one target's run in a worker thread (worker.ts) with a watchdog: an
 * input that makes no progress within twice the time budget is a hang, the
 * worker is stopped and a new one resumes after that input. Findings are written to
 * test/output/fuzz/<target>-<seed>-<n>.bin with a command that replays them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { Worker } from 'node:worker_threads';
import { inputRng } from './mutate.js';
import { findTarget, generateInput, isTyped } from './targets.js';
import { describeThrown, type RawFinding, type WorkerJob, type WorkerMessage } from './worker.js';

export const DEFAULT_OUT_DIR = fileURLToPath(new URL('../../../test/output/fuzz/', import.meta.url));
const WORKER = new URL('./worker.js', import.meta.url);
/**
 * The watchdog stops a worker only after this many budgets without progress:
 * the worker times out a stalled promise itself at one budget and goes on,
 * and that report must win the race, or one hang would be reported twice.
 */
const WATCHDOG_BUDGETS = 2;
/** A target whose inputs keep hanging is given up after this many restarts. */
const MAX_RESTARTS = 5;
/** Findings kept in detail per target (the worker sends inputs for the first few of each bug); the rest are counted. */
const MAX_DETAILED = 50;

export interface FuzzOptions {
  iterations: number;
  seed: number;
  /** Per-input time budget (default 1000 ms). */
  budgetMs?: number;
  outDir?: string;
  /** Module holding the target table (see loadTargets). */
  module?: string;
}

export interface Finding extends Omit<RawFinding, 'input'> {
  target: string;
  seed: number;
  /** Where the input was saved, when it was. */
  file?: string;
  /** The input's first 256 bytes in hex. */
  inputHex?: string;
}

export interface TargetReport {
  target: string;
  seeds: number;
  inputs: number;
  findingCount: number;
  findings: Finding[];
  ms: number;
  /** Set when the run was given up before all inputs ran. */
  abandoned?: string;
}

type WorkerOutcome =
  | { seeds: number }
  | { stoppedAt: number; kind: 'hang' | 'crash'; error: unknown; reported: boolean };

function runWorker(job: WorkerJob, budgetMs: number, onFinding: (f: RawFinding) => void): Promise<WorkerOutcome> {
  const progress = new Int32Array(job.progress);
  Atomics.store(progress, 0, -1);
  const worker = new Worker(WORKER, { workerData: job, resourceLimits: { maxOldGenerationSizeMb: 2048 } });
  return new Promise((resolve, reject) => {
    let seen = -1;
    let lastReported = -1;
    let since = performance.now();
    let settled = false;
    const finish = (o: WorkerOutcome | Error): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      void worker.terminate();
      if (o instanceof Error) reject(o);
      else resolve(o);
    };
    const stopped = (kind: 'hang' | 'crash', error: unknown): void => {
      const n = Atomics.load(progress, 0);
      // Before the first input the worker was loading seeds: a harness failure, not a finding.
      finish(n < 0 ? (error instanceof Error ? error : new Error(String(error))) : { stoppedAt: n, kind, error, reported: n === lastReported });
    };
    const watchdog = setInterval(() => {
      const n = Atomics.load(progress, 0);
      const now = performance.now();
      if (n !== seen) {
        seen = n;
        since = now;
      } else if (n >= 0 && now - since > budgetMs * WATCHDOG_BUDGETS) {
        stopped('hang', new Error(`no progress within ${budgetMs} ms (input still running when stopped)`));
      }
    }, Math.max(10, Math.min(100, budgetMs / 4)));
    worker.on('message', (m: WorkerMessage) => {
      if ('finding' in m) {
        lastReported = m.finding.n;
        onFinding(m.finding);
      }
      else finish(m.done);
    });
    worker.on('error', (err) => stopped('crash', err));
    worker.on('exit', (code) => stopped('crash', new Error(`worker exited with code ${code} before reporting`)));
  });
}

/** Input n of a run, rebuilt outside the worker (for inputs whose worker had to be stopped). */
async function rebuildInput(target: string, seed: number, n: number, module?: string): Promise<Buffer> {
  const t = await findTarget(target, module);
  return generateInput(t, t.corpus(), inputRng(seed, target, n));
}

function save(f: Finding, input: Uint8Array, outDir: string): Finding {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${f.target}-${f.seed}-${f.n}.bin`);
  writeFileSync(file, input);
  return { ...f, file, inputHex: Buffer.from(input.subarray(0, 256)).toString('hex') };
}

export async function fuzzTarget(name: string, opts: FuzzOptions): Promise<TargetReport> {
  await findTarget(name, opts.module);
  const budgetMs = opts.budgetMs ?? 1000;
  const outDir = opts.outDir ?? DEFAULT_OUT_DIR;
  const t0 = performance.now();
  const report: TargetReport = { target: name, seeds: 0, inputs: 0, findingCount: 0, findings: [], ms: 0 };
  const progress = new SharedArrayBuffer(4);
  const add = ({ input, ...raw }: RawFinding): void => {
    report.findingCount++;
    const f: Finding = { ...raw, target: name, seed: opts.seed };
    if (input !== undefined && report.findings.length < MAX_DETAILED) report.findings.push(save(f, input, outDir));
  };
  let restarts = 0;
  for (let start = 0; start < opts.iterations;) {
    const job: WorkerJob = { target: name, seed: opts.seed, start, end: opts.iterations, budgetMs, progress, module: opts.module };
    const outcome = await runWorker(job, budgetMs, add);
    if ('seeds' in outcome) {
      report.seeds = outcome.seeds;
      report.inputs += opts.iterations - start;
      break;
    }
    const n = outcome.stoppedAt;
    report.inputs += n + 1 - start;
    // A worker stopped right after reporting its input (a stalled promise under heavy load) already has its finding.
    if (!outcome.reported) add({ n, ...describeThrown(outcome.kind, outcome.error), input: await rebuildInput(name, opts.seed, n, opts.module) });
    start = n + 1;
    if (++restarts >= MAX_RESTARTS && start < opts.iterations) {
      report.abandoned = `stopped after ${restarts} hung or crashed workers`;
      break;
    }
  }
  report.ms = performance.now() - t0;
  return report;
}

/** Runs one saved input in this process and says how the target ended. */
export async function replayInput(
  name: string, input: Buffer, module?: string,
): Promise<{ outcome: 'value' | 'typed error' | 'finding'; detail: string }> {
  const target = await findTarget(name, module);
  try {
    const value = await target.run(input);
    return { outcome: 'value', detail: inspect(value, { depth: 1, maxArrayLength: 8, maxStringLength: 200 }) };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return isTyped(target.typed, err)
      ? { outcome: 'typed error', detail: `${e.name}: ${e.message}` }
      : { outcome: 'finding', detail: e.stack ?? `${e.name}: ${e.message}` };
  }
}

export function reproduceCommand(f: Finding): string {
  const file = f.file ? relative(process.cwd(), f.file) : `<input ${f.n} of seed ${f.seed}>`;
  return `node dist/test/fuzz/run.js --target ${f.target} --replay ${file}`;
}

export function summaryLine(r: TargetReport): string {
  const rate = r.ms > 0 ? Math.round((r.inputs * 1000) / r.ms) : 0;
  const end = r.abandoned ? ` (${r.abandoned})` : '';
  return `fuzz ${r.target}: ${r.inputs} inputs from ${r.seeds} seeds, ${r.findingCount} findings, `
    + `${(r.ms / 1000).toFixed(1)} s (${rate}/s)${end}`;
}

export function totalLine(reports: readonly TargetReport[]): string {
  const inputs = reports.reduce((n, r) => n + r.inputs, 0);
  const findings = reports.reduce((n, r) => n + r.findingCount, 0);
  return `fuzz: ${inputs} inputs, ${reports.length} targets, ${findings} findings`;
}

export function findingText(f: Finding): string {
  return [
    `${f.target} input ${f.n} (seed ${f.seed}): ${f.kind}: ${f.error}`,
    ...(f.inputHex !== undefined ? [`  input (hex, first 256 bytes): ${f.inputHex}`] : []),
    `  reproduce: ${reproduceCommand(f)}`,
    ...f.stack.split('\n').slice(1, 6).map((l) => `  ${l.trim()}`),
  ].join('\n');
}
