/**
 * Retries of transient failures with exponential backoff and full jitter
 * (each wait uniform in [0, min(cap, base·2^n)]): a fleet whose server was
 * down comes back spread out instead of in one wave.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isTransient } from './exit-codes.js';

export interface RetryPolicy {
  /** Further attempts after the first. */
  retries: number;
  /** First backoff ceiling (default 1 s). */
  baseMs?: number;
  /** Largest backoff ceiling (default 60 s). */
  capMs?: number;
  /** Called before each wait with the failed attempt's number (1-based) and the wait. */
  onRetry?: (attempt: number, err: unknown, waitMs: number) => void;
}

function ceilingMs(p: RetryPolicy, n: number): number {
  return Math.min(p.capMs ?? 60_000, (p.baseMs ?? 1000) * 2 ** n);
}

/** Runs `attempt` until it succeeds, fails for good, or the retries are spent; the result says how many attempts ran. */
export async function withRetries<T>(p: RetryPolicy, attempt: (n: number) => Promise<T>): Promise<{ value: T; attempts: number }> {
  for (let n = 0; ; n++) {
    try {
      return { value: await attempt(n + 1), attempts: n + 1 };
    } catch (err) {
      if (n >= p.retries || !isTransient(err)) throw new AttemptsError(err, n + 1);
      const waitMs = Math.round(Math.random() * ceilingMs(p, n));
      p.onRetry?.(n + 1, err, waitMs);
      await sleep(waitMs);
    }
  }
}

/** The last attempt's error, with how many attempts were made. */
export class AttemptsError extends Error {
  override name = 'AttemptsError';
  constructor(readonly last: unknown, readonly attempts: number) {
    super(last instanceof Error ? last.message : String(last), { cause: last });
  }
}
