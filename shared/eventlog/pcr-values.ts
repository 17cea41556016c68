/**
 * PCR values per bank, the extend operation, and the names banks have in
 * JSON (TCG algorithm registry names: sha1, sha256, sha384, sha512, sm3_256).
 */
import { hash } from 'node:crypto';
import { HASH_ALGS, type HashAlg } from '../tpm/constants.js';
import type { PcrMismatch } from './errors.js';

/** bank → PCR index → value. */
export type PcrValues = Map<HashAlg, Map<number, Buffer>>;

/** TPM 2.0 Part 1 §17.2 (PCR extend): new = H(old || digest). */
export function extendPcr(alg: HashAlg, pcr: Uint8Array, digest: Uint8Array): Buffer {
  return hash(alg, Buffer.concat([pcr, digest]), 'buffer');
}

export function bankSize(alg: HashAlg): number {
  for (const h of HASH_ALGS.values()) if (h.name === alg) return h.size;
  throw new RangeError(`unsupported hash algorithm ${alg}`);
}

export function bankLabel(alg: HashAlg): string {
  return alg === 'sm3' ? 'sm3_256' : alg;
}

/** Accepts the JSON label, the Node/kernel name, and upper-case or dashed spellings. */
export function parseBankLabel(label: string): HashAlg {
  const l = label.toLowerCase().replace(/-/g, '');
  if (l === 'sm3_256' || l === 'sm3') return 'sm3';
  for (const h of HASH_ALGS.values()) if (h.name === l) return h.name;
  throw new RangeError(`unknown PCR bank ${label}`);
}

/** {"sha256": {"0": "hex", ...}} with PCR keys in numeric order. */
export function pcrValuesToJson(v: PcrValues): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [alg, pcrs] of v) {
    const bank: Record<string, string> = {};
    for (const pcr of [...pcrs.keys()].sort((a, b) => a - b)) bank[String(pcr)] = pcrs.get(pcr)!.toString('hex');
    out[bankLabel(alg)] = bank;
  }
  return out;
}

/**
 * Lists the PCRs of `expected` that `replayed` does not reproduce. A PCR the
 * log never extended is compared at its reset value, given by `initial`.
 */
export function diffPcrs(
  replayed: PcrValues,
  expected: PcrValues,
  initial: (alg: HashAlg, pcr: number) => Buffer,
): PcrMismatch[] {
  const out: PcrMismatch[] = [];
  for (const [alg, pcrs] of expected) {
    for (const [pcr, want] of pcrs) {
      const got = replayed.get(alg)?.get(pcr) ?? initial(alg, pcr);
      if (!got.equals(want)) {
        out.push({ bank: bankLabel(alg), pcr, expected: want.toString('hex'), replayed: got.toString('hex') });
      }
    }
  }
  return out;
}
