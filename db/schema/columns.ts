/**
 * Column naming shared by both dialects' schemas and the row codec. The PCR
 * columns follow IBM ACS's dbinit.sql: pcr00sha256 … pcr23sha256 first, then
 * pcr00sha1 … pcr23sha1.
 */
import { PCR_BANK_NAMES, PCR_COUNT, type PcrBankName } from '../../shared/tpm/pcr-banks.js';

type Digit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9';
/** 00 … 23, as a type so the tables' column types name each PCR column. */
type PcrIndex = `0${Digit}` | `1${Digit}` | `2${'0' | '1' | '2' | '3'}`;
export type PcrColumnName = `pcr${PcrIndex}${PcrBankName}`;

export function pcrColumn(index: number, bank: PcrBankName): PcrColumnName {
  return `pcr${String(index).padStart(2, '0')}${bank}` as PcrColumnName;
}

/** The 48 PCR column names in IBM's order. */
export const PCR_COLUMNS: readonly PcrColumnName[] = PCR_BANK_NAMES.flatMap((bank) =>
  Array.from({ length: PCR_COUNT }, (_, i) => pcrColumn(i, bank)),
);

/** Builds one column per PCR column name with the dialect's column factory. */
export function pcrColumns<C>(make: (name: PcrColumnName) => C): Record<PcrColumnName, C> {
  return Object.fromEntries(PCR_COLUMNS.map((name) => [name, make(name)])) as Record<PcrColumnName, C>;
}
