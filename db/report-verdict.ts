/**
 * The verdict stored with a report (attestlog.verdict, JSON): every check
 * with its result, the diagnosis, and a refused quote's replayed PCRs. The
 * server writes it from server/verify's verdict; the web UI and the JSON API
 * read it. Field names are part of the API (GET /api/reports/:id).
 */
import type { PcrBanks } from '../shared/tpm/pcr-banks.js';

export interface ReportCheck {
  name: string;
  result: 'pass' | 'fail' | 'warn' | 'n/a';
  detail: string;
}

export interface ReportDiagnosis {
  summary: string;
  pcrs: { bank: 'sha256' | 'sha1'; pcr: number; reason: string; expected?: string; replayed?: string }[];
  firmwareEvents: { entrynum: number; reason: string }[];
  imaEntries: { entrynum: number; reason: string }[];
}

export interface ReportVerdict {
  checks: ReportCheck[];
  diagnosis: ReportDiagnosis;
  /** A refused quote's PCRs as its logs replay; null otherwise. */
  replayed: PcrBanks | null;
}

export function encodeReportVerdict(v: ReportVerdict): string {
  return JSON.stringify(v);
}

/** The stored verdict, or null when there is none or it is not one of ours. */
export function decodeReportVerdict(text: string | null): ReportVerdict | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as Partial<ReportVerdict>;
    return Array.isArray(v.checks) && v.diagnosis && typeof v.diagnosis.summary === 'string' ? (v as ReportVerdict) : null;
  } catch {
    return null;
  }
}
