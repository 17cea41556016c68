/**
 * Which alerts a report raises, decided from plain facts about it: a refusal
 * (attestation.failed), a state change (machine.state_changed), PCRs newly
 * off the white list or reference values (machine.pcrinvalid), IMA entries a
 * policy does not allow (policy.violation). Lists in details are cut to
 * MAX_LISTED entries with the total beside them, so one alert stays small
 * enough for a syslog datagram.
 */
import type { MachineState } from '../../db/queries.js';
import type { PcrDeparture } from '../../shared/tpm/pcr-banks.js';
import type { Diagnosis } from '../verify/verdict.js';
import type { AlertInput, AlertReport } from './alert.js';

export const MAX_LISTED = 50;

export interface PolicyViolation {
  entrynum: number;
  path: string;
  reason: string;
}

export interface ReportFacts {
  hostname: string;
  report: AlertReport;
  before: MachineState;
  after: MachineState;
  /** Set when the quote was refused; the diagnosis when the verification core judged it. */
  refusal?: { code: string; message: string; diagnosis?: Diagnosis };
  /** PCRs off the machine's reference (golden values or its white list), when this report newly left it. */
  pcrinvalid?: { reference: string; pcrs: PcrDeparture[] };
  /** Entries of this report the machine's IMA policy does not allow. */
  violations?: { policy: string; entries: PolicyViolation[] };
}

function listed<T>(items: readonly T[]): { items: T[]; total: number } {
  return { items: items.slice(0, MAX_LISTED), total: items.length };
}

export function reportAlerts(f: ReportFacts): AlertInput[] {
  const base = { hostname: f.hostname, report: f.report };
  const out: AlertInput[] = [];
  if (f.refusal) {
    const d = f.refusal.diagnosis;
    out.push({
      ...base,
      type: 'attestation.failed',
      summary: `${f.hostname}: ${d?.summary ?? `Refused: ${f.refusal.message}.`}`,
      details: {
        errorCode: f.refusal.code,
        reason: f.refusal.message,
        ...(d ? { diagnosis: { pcrs: listed(d.pcrs).items, firmwareEvents: listed(d.firmwareEvents).items, imaEntries: listed(d.imaEntries).items } } : {}),
      },
    });
  }
  if (f.pcrinvalid && f.pcrinvalid.pcrs.length > 0) {
    const { items, total } = listed(f.pcrinvalid.pcrs);
    const names = [...new Set(f.pcrinvalid.pcrs.map((p) => p.pcr))].join(', ');
    out.push({
      ...base,
      type: 'machine.pcrinvalid',
      summary: `${f.hostname}: PCR ${names} differ from the ${f.pcrinvalid.reference}`,
      details: { reference: f.pcrinvalid.reference, pcrs: items, total },
    });
  }
  if (f.violations && f.violations.entries.length > 0) {
    const { items, total } = listed(f.violations.entries);
    out.push({
      ...base,
      type: 'policy.violation',
      summary: `${f.hostname}: ${total} IMA ${total === 1 ? 'entry is' : 'entries are'} not allowed by policy ${f.violations.policy}`,
      details: { policy: f.violations.policy, entries: items, total },
    });
  }
  if (f.before !== f.after) {
    out.push(stateChanged(f.hostname, f.before, f.after, f.report));
  }
  return out;
}

export function stateChanged(hostname: string, before: MachineState, after: MachineState, report?: AlertReport, dedupeKey?: string): AlertInput {
  return {
    hostname,
    ...(report ? { report } : {}),
    type: 'machine.state_changed',
    summary: `${hostname}: ${before} → ${after}`,
    details: { old: before, new: after },
    ...(dedupeKey ? { dedupeKey } : {}),
  };
}

/**
 * A quote that does not verify with the host's AK (a security event, not the
 * host's report): at most one alert a minute per host, its id derived from
 * the host and the minute, so a flood of forgeries is one alert.
 */
export function forgedQuoteAlert(hostname: string, detail: string, now: Date): AlertInput {
  const minute = now.toISOString().slice(0, 16);
  return {
    type: 'security.forged_quote',
    hostname,
    summary: `${hostname}: a quote whose signature does not verify with the enrolled AK was refused`,
    details: { reason: detail, minute },
    dedupeKey: `security.forged_quote:${hostname}:${minute}`,
  };
}
