/**
 * Runs inputs start..end-1 of one target in a worker thread, so that the
 * engine (engine.ts) can stop an input that never returns. The number of the
 * input in progress is kept in shared memory for the engine's watchdog.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { inputRng } from './mutate.js';
import { findTarget, generateInput, isTyped, type Target } from './targets.js';

export interface WorkerJob {
  target: string;
  seed: number;
  start: number;
  end: number;
  budgetMs: number;
  /** Int32Array[1]: the input in progress, -1 before the first and after the last. */
  progress: SharedArrayBuffer;
  /** Module holding the target table (see loadTargets). */
  module?: string;
}

export type FindingKind = 'crash' | 'hang' | 'rejection';

export interface RawFinding {
  n: number;
  kind: FindingKind;
  /** "Name: message" of what was thrown. */
  error: string;
  stack: string;
  /** Kind, error name and the first stack frame: findings with one signature are one bug. */
  signature: string;
  /** Kept for the first few findings of each signature. */
  input?: Uint8Array;
}

/** Messages to the engine: every finding as it happens, then the end of the run. */
export type WorkerMessage = { finding: RawFinding } | { done: { seeds: number } };

/** Inputs kept per signature: the rest of a bug's findings are only counted. */
const SAVED_PER_SIGNATURE = 3;

export function describeThrown(kind: FindingKind, err: unknown): Omit<RawFinding, 'n' | 'input'> {
  const e = err instanceof Error ? err : new Error(`non-Error thrown: ${String(err)}`);
  const frame = e.stack?.split('\n').find((l) => l.trimStart().startsWith('at '))?.trim() ?? '';
  return { kind, error: `${e.name}: ${e.message}`, stack: e.stack ?? '', signature: `${kind} ${e.name} ${frame}` };
}

/** Runs one input; a promise gets the budget to settle. */
async function runOne(target: Target, input: Buffer, budgetMs: number): Promise<'ok' | 'late' | { error: unknown }> {
  try {
    const result = target.run(input);
    if (!(result instanceof Promise)) return 'ok';
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(resolve, budgetMs, 'late'); });
    const settled = await Promise.race([result, late]).finally(() => clearTimeout(timer));
    if (settled !== 'late') return 'ok';
    result.catch(() => {});
    return 'late';
  } catch (error) {
    return { error };
  }
}

export async function runJob(job: WorkerJob, report: (m: WorkerMessage) => void): Promise<void> {
  const target = await findTarget(job.target, job.module);
  const corpus = target.corpus();
  const progress = new Int32Array(job.progress);
  const perSignature = new Map<string, number>();
  let current = -1;
  let input: Buffer = Buffer.alloc(0);

  const record = (kind: FindingKind, err: unknown): void => {
    const f: RawFinding = { n: current, ...describeThrown(kind, err) };
    const seen = perSignature.get(f.signature) ?? 0;
    perSignature.set(f.signature, seen + 1);
    if (seen < SAVED_PER_SIGNATURE) f.input = Uint8Array.from(input);
    report({ finding: f });
  };
  const onRejection = (reason: unknown): void => record('rejection', reason);
  process.on('unhandledRejection', onRejection);

  try {
    for (let n = job.start; n < job.end; n++) {
      current = n;
      Atomics.store(progress, 0, n);
      input = generateInput(target, corpus, inputRng(job.seed, job.target, n));
      const t0 = performance.now();
      const outcome = await runOne(target, input, job.budgetMs);
      const ms = performance.now() - t0;
      if (outcome === 'late') record('hang', new Error(`promise not settled within ${job.budgetMs} ms`));
      else if (outcome !== 'ok' && !isTyped(target.typed, outcome.error)) record('crash', outcome.error);
      else if (ms > job.budgetMs) record('hang', new Error(`input took ${ms.toFixed(0)} ms (budget ${job.budgetMs} ms)`));
      // A turn of the event loop after every input: a rejection nobody handled surfaces here, at its input.
      await nextTurn();
    }
    // No input in progress: the watchdog stops watching while the result travels.
    Atomics.store(progress, 0, -1);
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  report({ done: { seeds: corpus.length } });
}

if (parentPort && workerData !== null && typeof workerData === 'object' && 'progress' in workerData) {
  const port = parentPort;
  await runJob(workerData as WorkerJob, (m) => port.postMessage(m));
}
