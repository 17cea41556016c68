/**
 * PCR values as the server stores and compares them: 24 PCRs per bank
 * (TCG PC Client Platform TPM Profile §4.6.1), SHA-256 and SHA-1, lowercase
 * hex, null where not known. One comparison serves the white list, the
 * previous attestation and the web's PCR table.
 */

export const PCR_COUNT = 24;
export const PCR_BANK_NAMES = ['sha256', 'sha1'] as const;
export type PcrBankName = (typeof PCR_BANK_NAMES)[number];

export interface PcrBanks {
  sha256: (string | null)[];
  sha1: (string | null)[];
}

/** A PCR whose value differs between two sets of banks. */
export interface PcrDeparture {
  bank: PcrBankName;
  pcr: number;
  /** The reference value (white list or previous attestation). */
  expected: string;
  /** The value found. */
  found: string;
}

export function emptyPcrBanks(): PcrBanks {
  return { sha256: Array<string | null>(PCR_COUNT).fill(null), sha1: Array<string | null>(PCR_COUNT).fill(null) };
}

/** The PCRs of `pcrs` known in both `found` and `reference` whose values differ, bank by bank. */
export function pcrDepartures(found: PcrBanks, reference: PcrBanks, pcrs: readonly number[]): PcrDeparture[] {
  const out: PcrDeparture[] = [];
  for (const bank of PCR_BANK_NAMES) {
    for (const pcr of pcrs) {
      const f = found[bank][pcr];
      const r = reference[bank][pcr];
      if (f && r && f !== r) out.push({ bank, pcr, expected: r, found: f });
    }
  }
  return out;
}
