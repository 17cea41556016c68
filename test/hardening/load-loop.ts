/**
 * Closed-loop attestation load for fault tests: each machine measures a
 * file and attests, again and again, until stopped, and every attempt is
 * recorded with its nonce and what the client saw, so that after the fault
 * each one can be matched to its attestlog row.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { outcome } from './outcome.js';
import type { Endpoint, Issued, SteppedHost } from './stepped-host.js';

export interface Attempt {
  hostname: string;
  /** The nonce, when the nonce request was answered. */
  nonceHex?: string;
  /** null: accepted; else the ACS code or the transport error's name. */
  outcome: string | null;
  startedAt: number;
  endedAt: number;
}

export class LoadLoop {
  readonly attempts: Attempt[] = [];
  private stopping = false;
  private readonly running: Promise<void>[];

  /** Starts one loop per host; `target` picks the server of each attempt (nonce, quote). */
  constructor(hosts: SteppedHost[], target: (host: SteppedHost, round: number) => { nonce: Endpoint; quote: Endpoint }, pauseAfterFailureMs = 25) {
    this.running = hosts.map(async (h) => {
      for (let round = 0; !this.stopping; round++) {
        h.measureFiles(1);
        const ep = target(h, round);
        let issued: Issued | undefined;
        const startedAt = performance.now();
        const seen = await outcome((async () => {
          issued = await h.nonce(ep.nonce);
          await h.send(ep.quote, h.request(h.quote(issued)));
        })());
        this.attempts.push({ hostname: h.hostname, nonceHex: issued?.nonceHex, outcome: seen, startedAt, endedAt: performance.now() });
        if (seen !== null) await sleep(pauseAfterFailureMs);
      }
    });
  }

  get accepted(): number {
    return this.attempts.filter((a) => a.outcome === null).length;
  }

  /** Resolves once `count` more attempts than now have been accepted. */
  async acceptedMore(count: number, timeoutMs = 60_000): Promise<void> {
    const target = this.accepted + count;
    const until = performance.now() + timeoutMs;
    while (this.accepted < target) {
      if (performance.now() > until) throw new Error(`only ${this.accepted} of ${target} attestations accepted within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** Lets every loop finish its current attempt, then returns all attempts. */
  async stop(): Promise<Attempt[]> {
    this.stopping = true;
    await Promise.all(this.running);
    return this.attempts;
  }
}

/** A fault the load ran through: from the signal to the service answering again. */
export interface Interruption {
  signal: 'SIGKILL' | 'SIGTERM';
  downAt: number;
  upAt: number;
}

/**
 * Takes the service down under `load` twice, by SIGKILL and then by SIGTERM,
 * with `perPhase` more accepted attestations before each and after the last.
 * `interrupt` stops the service with the signal and resolves once it is back.
 */
export async function interruptTwice(
  load: LoadLoop,
  perPhase: number,
  interrupt: (signal: Interruption['signal']) => Promise<void>,
): Promise<{ interruptions: Interruption[]; attempts: Attempt[] }> {
  const interruptions: Interruption[] = [];
  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    await load.acceptedMore(perPhase);
    const downAt = performance.now();
    await interrupt(signal);
    interruptions.push({ signal, downAt, upAt: performance.now() });
  }
  await load.acceptedMore(perPhase);
  return { interruptions, attempts: await load.stop() };
}

/** Whether the attempt was in flight during any of the interruptions. */
export function overlapsAny(a: Attempt, interruptions: readonly Interruption[]): boolean {
  return interruptions.some((i) => a.endedAt > i.downAt && a.startedAt < i.upAt);
}
