/**
 * Measured-boot reference values: the firmware PCR values a group of machines
 * must show, taken from one machine's white list (`acs-server policy golden
 * --from-machine HOST`). A machine assigned them is judged against them from
 * its first quote on, instead of trusting whatever its first quote showed.
 * Stored as JSON: { "meta": { "version": 1, "source": … },
 * "pcrs": { "sha256": { "0": hex, … }, "sha1": { … } } }.
 */
import type { PcrBanks } from '../../db/store.js';
import { PolicyFormatError } from './runtime-policy.js';

export type Bank = 'sha256' | 'sha1';
const BANKS: readonly Bank[] = ['sha256', 'sha1'];

export interface ReferenceValues {
  meta: { version: number; source?: string };
  pcrs: Partial<Record<Bank, Record<string, string>>>;
}

export interface PcrDeparture {
  bank: Bank;
  pcr: number;
  expected: string;
  actual: string;
}

/** The reference values of a white list's firmware PCRs. */
export function referenceFromWhitelist(whitelist: PcrBanks, firmwarePcrs: readonly number[], source: string): ReferenceValues {
  const pcrs: ReferenceValues['pcrs'] = {};
  for (const bank of BANKS) {
    for (const p of firmwarePcrs) {
      const v = whitelist[bank][p];
      if (v) (pcrs[bank] ??= {})[String(p)] = v;
    }
  }
  if (Object.keys(pcrs).length === 0) throw new PolicyFormatError(`${source} has no firmware PCR values`);
  return { meta: { version: 1, source }, pcrs };
}

export function parseReferenceValues(text: string): ReferenceValues {
  const doc = JSON.parse(text) as ReferenceValues;
  if (doc?.meta?.version !== 1 || typeof doc.pcrs !== 'object' || doc.pcrs === null) throw new PolicyFormatError('not reference values');
  return doc;
}

/** Each referenced PCR whose value in `pcrs` is known and differs. */
export function referenceDepartures(ref: ReferenceValues, pcrs: PcrBanks): PcrDeparture[] {
  const out: PcrDeparture[] = [];
  for (const bank of BANKS) {
    for (const [p, expected] of Object.entries(ref.pcrs[bank] ?? {})) {
      const actual = pcrs[bank][Number(p)];
      if (actual && actual !== expected) out.push({ bank, pcr: Number(p), expected, actual });
    }
  }
  return out.sort((a, b) => a.pcr - b.pcr || a.bank.localeCompare(b.bank));
}
