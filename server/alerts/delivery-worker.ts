/**
 * The delivery worker: claims due outbox rows of this server's sinks,
 * delivers them, and marks each delivered or due again after an exponential
 * backoff with jitter ("equal jitter": half the doubled delay fixed, half
 * random, so retries of many alerts spread out but still grow). A receiver
 * that is down only delays its own rows; the worker keeps polling, so an
 * alert raised meanwhile arrives when the receiver is back. Rows are given up
 * (state failed, shown on the admin page) only when they are older than
 * `giveUpAfterMs`.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ClaimedDelivery, OutboxSql } from '../../db/alert-outbox.js';
import type { AlertBody } from './alert.js';
import type { Sink } from './sinks.js';

export interface DeliveryTiming {
  /** How often the outbox is looked at when nothing is due sooner. Default 1 s. */
  pollMs: number;
  /** One delivery attempt's limit. Default 10 s (`--notify-timeout`). */
  timeoutMs: number;
  /** First retry delay, doubled per attempt up to maxDelayMs. Defaults 1 s and 5 min. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** An alert not delivered this long after it was raised is given up. Default 24 h. */
  giveUpAfterMs: number;
}

export const DEFAULT_DELIVERY_TIMING: DeliveryTiming = {
  pollMs: 1000,
  timeoutMs: 10_000,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
  giveUpAfterMs: 24 * 3600_000,
};

/** Rows claimed at once. */
const BATCH = 20;

/** The delay before attempt `attempts + 1`: base·2^(attempts−1) capped at max, the upper half of it random. */
export function retryDelay(attempts: number, timing: Pick<DeliveryTiming, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const full = Math.min(timing.maxDelayMs, timing.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  return full / 2 + (random() * full) / 2;
}

export class DeliveryWorker {
  private readonly sinks: Map<string, Sink>;
  private readonly timing: DeliveryTiming;
  private stopped = false;
  private running: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly idle = new AbortController();

  constructor(
    private readonly outbox: OutboxSql,
    sinks: readonly Sink[],
    private readonly logger: Logger,
    timing: Partial<DeliveryTiming> = {},
    private readonly now: () => Date = () => new Date(),
  ) {
    this.sinks = new Map(sinks.map((s) => [s.name, s]));
    this.timing = { ...DEFAULT_DELIVERY_TIMING, ...timing };
  }

  /** The names stored on the outbox rows this worker delivers. */
  get sinkNames(): string[] {
    return [...this.sinks.keys()];
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Looks at the outbox now: this server just committed alerts. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stops polling and waits for the deliveries in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.idle.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const names = this.sinkNames;
    while (!this.stopped) {
      let waitMs = this.timing.pollMs;
      try {
        const due = await this.outbox.nextDue(names);
        if (due !== null) {
          const inMs = due.getTime() - this.now().getTime();
          if (inMs <= 0) {
            const claimed = await this.outbox.claim(names, this.now(), this.leaseMs(), BATCH, randomUUID());
            await Promise.all(claimed.map((d) => this.deliver(d)));
            if (claimed.length > 0) continue;
          } else {
            waitMs = Math.min(waitMs, inMs);
          }
        }
      } catch (e) {
        this.logger.warn({ err: e }, 'alert outbox not readable; trying again');
      }
      await this.pause(waitMs);
    }
  }

  /** A claimed row stays this worker's until its attempt has surely ended. */
  private leaseMs(): number {
    return 2 * this.timing.timeoutMs + 5000;
  }

  private async pause(ms: number): Promise<void> {
    if (this.stopped) return;
    const woken = new Promise<void>((resolve) => (this.wakeUp = resolve));
    await Promise.race([sleep(ms, undefined, { signal: this.idle.signal }).catch(() => undefined), woken]);
    this.wakeUp = undefined;
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const sink = this.sinks.get(d.sink)!;
    const alert = JSON.parse(d.body) as AlertBody;
    const log = { alert: d.alertId, type: d.type, sink: d.sink, attempt: d.attempts };
    try {
      await withTimeout(sink.deliver(alert, d.body), this.timing.timeoutMs);
    } catch (e) {
      const now = this.now();
      const error = e instanceof Error ? e.message : String(e);
      const giveUp = now.getTime() - d.createdAt.getTime() >= this.timing.giveUpAfterMs;
      const retryAt = giveUp ? null : new Date(now.getTime() + retryDelay(d.attempts, this.timing));
      await this.outbox.attemptFailed(d, error, retryAt, now).catch((err) => this.logger.warn({ ...log, err }, 'could not record a failed alert delivery'));
      this.logger.warn({ ...log, error, retryAt }, giveUp ? 'alert delivery given up' : 'alert delivery failed; will retry');
      return;
    }
    const kept = await this.outbox.delivered(d, this.now()).catch((err) => {
      this.logger.warn({ ...log, err }, 'alert delivered but not marked; it may be sent again');
      return true;
    });
    this.logger.debug({ ...log, kept }, 'alert delivered');
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
