/**
 * Column naming shared by both dialects' schemas and the row codec. The PCR
 * columns follow IBM ACS's dbinit.sql: pcr00sha256 … pcr23sha256 first, then
 * pcr00sha1 … pcr23sha1.
 */
import { PCR_BANK_NAMES, PCR_COUNT, type PcrBankName } from '../../shared/tpm/pcr-banks.js';

export function pcrColumn(index: number, bank: PcrBankName): string {
  return `pcr${String(index).padStart(2, '0')}${bank}`;
}

/** The 48 PCR column names in IBM's order. */
export const PCR_COLUMNS: readonly string[] = PCR_BANK_NAMES.flatMap((bank) =>
  Array.from({ length: PCR_COUNT }, (_, i) => pcrColumn(i, bank)),
);

/** Builds one column per PCR column name with the dialect's column factory. */
export function pcrColumns<C>(make: (name: string) => C): Record<string, C> {
  return Object.fromEntries(PCR_COLUMNS.map((name) => [name, make(name)]));
}
