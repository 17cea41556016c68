/**
 * Measured-boot reference values: the firmware PCR values a group of machines
 * must show, taken from one machine's white list (`acs-server policy golden
 * --from-machine HOST`). A machine assigned them is judged against them from
 * its first quote on, instead of trusting whatever its first quote showed.
 * Stored as JSON: { "meta": { "version": 1, "source": … },
 * "pcrs": { "sha256": { "0": hex, … }, "sha1": { … } } }.
 */
import { PCR_BANK_NAMES, emptyPcrBanks, type PcrBanks, type PcrBankName } from '../../shared/tpm/pcr-banks.js';
import { PolicyFormatError } from './runtime-policy.js';

export interface ReferenceValues {
  meta: { version: number; source?: string };
  pcrs: Partial<Record<PcrBankName, Record<string, string>>>;
}

/** The reference values of a white list's firmware PCRs. */
export function referenceFromWhitelist(whitelist: PcrBanks, firmwarePcrs: readonly number[], source: string): ReferenceValues {
  const pcrs: ReferenceValues['pcrs'] = {};
  for (const bank of PCR_BANK_NAMES) {
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

/** The reference values as PCR banks (unlisted PCRs unknown), for the comparison every PCR check uses. */
export function referencePcrBanks(ref: ReferenceValues): PcrBanks {
  const banks = emptyPcrBanks();
  for (const bank of PCR_BANK_NAMES) for (const [p, v] of Object.entries(ref.pcrs[bank] ?? {})) banks[bank][Number(p)] = v;
  return banks;
}
