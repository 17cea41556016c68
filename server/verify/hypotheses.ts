/**
 * Naming the PCR behind a digest mismatch. The quote carries only the
 * digest of the selected PCRs (TPM 2.0 Part 3 §18.4), but the server knows
 * what each PCR should hold: the white list for the firmware PCRs, and for
 * PCR 10 the previous accepted value extended with the new events (every
 * prefix of them). Each hypothesis substitutes the white-listed value for
 * replayed firmware PCRs that differ from it and asks whether the digest
 * then matches; the smallest substitution that reproduces it names the
 * PCRs whose log lies. When the firmware values are already vouched for
 * (white-listed, or verified earlier this boot), only PCR 10 is left.
 */
import type { HashAlg } from '../../shared/tpm/constants.js';
import type { PcrBankName, PcrBanks } from '../../shared/tpm/pcr-banks.js';
import { digestOf, type ImaPrefixes, type PcrMap, type PreparedReplay } from './pcr-replay.js';

/** One bank's PCR. */
export interface PcrUnit {
  bank: PcrBankName;
  pcr: number;
}

export type Explanation =
  /** Substituting the white-listed values of `units` reproduces the digest: their logs do not match what the TPM measured. */
  | { kind: 'firmware'; units: (PcrUnit & { expected: string; replayed: string })[] }
  /**
   * PCR 10 (the IMA log) is the one left: the firmware values are vouched for
   * by the white list or by this boot's verified attestation, or, with no
   * white list yet, IMA entries whose template hash does not match their data
   * show the log was altered after measurement.
   */
  | { kind: 'ima'; basis: 'whitelist' | 'previous' | 'template-hash' }
  /** No substitution reproduces the digest; `candidates` are the firmware PCRs off the white list. */
  | { kind: 'none'; candidates: (PcrUnit & { expected: string; replayed: string })[] };

/** Digest computations one diagnosis may spend; beyond it only PCR 10's final value is tried. */
const HASH_BUDGET = 200_000;
/** Up to this many differing PCRs every subset is tried; beyond it single PCRs and all of them together. */
const MAX_SUBSET_UNITS = 8;

export function explainMismatch(p: PreparedReplay, prefixes: ImaPrefixes[], whitelist: PcrBanks | null, quoted: Buffer): Explanation {
  const altered = prefixes[0]!.checks.includes('mismatch');
  if (p.firmwareSource === 'previous') return { kind: 'ima', basis: 'previous' };
  // Before the first verified quote nothing vouches for the replayed firmware values.
  if (!whitelist) return altered ? { kind: 'ima', basis: 'template-hash' } : { kind: 'none', candidates: [] };
  const candidates = offWhitelist(p, whitelist);
  if (candidates.length === 0) return { kind: 'ima', basis: 'whitelist' };
  const subsets = subsetsBySize(candidates.length);
  const imaValues = prefixes.flatMap((pre) => pre.values);
  const perSubset = Math.max(1, Math.floor(HASH_BUDGET / subsets.length));
  // Newest prefixes first: the log usually holds at most a few events past the quote.
  const tried = imaValues.length <= perSubset ? imaValues : prefixes.map((pre) => pre.values.at(-1)!);
  for (const subset of subsets) {
    const fixed: PcrMap = new Map([...p.fixed].map(([alg, m]) => [alg, new Map(m)]));
    for (const i of subset) {
      const c = candidates[i]!;
      fixed.get(c.bank as HashAlg)!.set(c.pcr, Buffer.from(c.expected, 'hex'));
    }
    if (tried.some((ima) => digestOf(p, fixed, ima).equals(quoted))) return { kind: 'firmware', units: subset.map((i) => candidates[i]!) };
  }
  return { kind: 'none', candidates };
}

function offWhitelist(p: PreparedReplay, whitelist: PcrBanks): (PcrUnit & { expected: string; replayed: string })[] {
  const out: (PcrUnit & { expected: string; replayed: string })[] = [];
  for (const b of p.banks) {
    if (b.alg !== 'sha256' && b.alg !== 'sha1') continue;
    for (const [pcr, value] of p.fixed.get(b.alg)!) {
      const expected = whitelist[b.alg][pcr];
      const replayed = value.toString('hex');
      if (expected && expected !== replayed) out.push({ bank: b.alg, pcr, expected, replayed });
    }
  }
  return out;
}

/** Index subsets of 0..n-1, smallest first (singles, pairs, …), bounded for large n. */
export function subsetsBySize(n: number): number[][] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (n > MAX_SUBSET_UNITS) return [...all.map((i) => [i]), all];
  const out: number[][] = [];
  for (let mask = 1; mask < 1 << n; mask++) out.push(all.filter((i) => mask & (1 << i)));
  return out.sort((a, b) => a.length - b.length);
}
