/**
 * The cost of a database failover under attestation load: closed-loop
 * incremental attestations against a server whose --db lists a Galera
 * cluster's nodes, the node it prefers killed with SIGKILL mid-run, then
 * started again. Reported: the longest stretch in which no attestation
 * completed (seconds without service), attestations answered an error that
 * the client had to repeat, attestations that completed but were held past
 * a second by the failover, and how long the node took to rejoin.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchHost, Endpoint } from './bench-host.js';
import { addFailure, type Failures } from './load.js';

export interface FailoverRun {
  concurrency: number;
  attestations: number;
  /** Longest gap between completed attestations from the kill on, seconds. */
  secondsWithoutService: number;
  /** Attestations answered an error (8000004x …); the client attests again. */
  failed: number;
  failures: Failures;
  /** Attestations that succeeded after more than a second: held or retried inside the server. */
  heldOverOneSecond: number;
  /** From starting the killed node until it was Synced again, seconds. */
  rejoinS: number;
}

export interface FailoverControl {
  kill(): Promise<void>;
  restart(): Promise<void>;
}

const BEFORE_MS = 2000;
const AFTER_MS = 5000;

export async function failoverRun(ep: Endpoint, hosts: BenchHost[], concurrency: number, node: FailoverControl): Promise<FailoverRun> {
  const completions: number[] = [];
  const failures: Failures = {};
  let failed = 0;
  let held = 0;
  let stopping = false;
  const workers = Array.from({ length: concurrency }, async (_, w) => {
    while (!stopping) {
      const s = performance.now();
      try {
        hosts[w].measureFiles(10);
        await hosts[w].attest(ep);
        const now = performance.now();
        completions.push(now);
        if (now - s > 1000) held++;
      } catch (e) {
        failed++;
        addFailure(failures, e);
        await sleep(25);
      }
    }
  });
  await sleep(BEFORE_MS);
  const killedAt = performance.now();
  await node.kill();
  await sleep(AFTER_MS);
  stopping = true;
  await Promise.all(workers);
  let gap = 0;
  let last = killedAt;
  for (const c of completions.filter((x) => x >= killedAt).sort((a, b) => a - b)) {
    gap = Math.max(gap, c - last);
    last = c;
  }
  const t0 = performance.now();
  await node.restart();
  return {
    concurrency,
    attestations: completions.length,
    secondsWithoutService: gap / 1000,
    failed,
    failures,
    heldOverOneSecond: held,
    rejoinS: (performance.now() - t0) / 1000,
  };
}
