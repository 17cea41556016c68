/**
 * Targets with bugs planted on purpose, for the harness's own test: a fuzzer
 * that reports nothing must be shown able to report something. Each bug
 * fires on inputs picked by a predicate the test re-evaluates, so it knows
 * exactly which inputs must become findings.
 */
import { fnv1a, mutateBytes } from './mutate.js';
import type { Target } from './targets.js';

export class CanaryError extends Error {
  override name = 'CanaryError';
}

const SEEDS = [Buffer.from('seed input for the canaries')];

/** Empty inputs crash with a TypeError; long ones fail with the typed CanaryError. */
export const crashes = (b: Buffer): boolean => b.length === 0;
export const rejectsTyped = (b: Buffer): boolean => b.length > 40;
/** About 1 input in 64 loops forever, another 1 in 64 returns a promise that never settles. */
export const loops = (b: Buffer): boolean => fnv1a(b) % 64 === 0;
export const stalls = (b: Buffer): boolean => fnv1a(b) % 64 === 1;
/** Inputs of one byte leave a rejected promise nobody handles. */
export const strays = (b: Buffer): boolean => b.length === 1;

export const TARGETS: readonly Target[] = [
  {
    name: 'canary-crash', typed: [CanaryError], corpus: () => SEEDS, mutate: mutateBytes,
    run(b) {
      if (crashes(b)) throw new TypeError('planted crash');
      if (rejectsTyped(b)) throw new CanaryError('planted typed error');
      return b.length;
    },
  },
  {
    name: 'canary-hang', typed: [], corpus: () => SEEDS, mutate: mutateBytes,
    run(b) {
      if (loops(b)) for (;;);
      return stalls(b) ? new Promise(() => {}) : Promise.resolve(b.length);
    },
  },
  {
    name: 'canary-rejection', typed: [], corpus: () => SEEDS, mutate: mutateBytes,
    run(b) {
      if (strays(b)) void Promise.reject(new Error('planted stray rejection'));
      return b.length;
    },
  },
];
