/**
 * What an attestation report means, as the UI and the JSON API both show it:
 * its outcome, IBM ACS's flags as pass/fail, the verification steps with the
 * one that failed, and its PCRs against the white list and the previous
 * report.
 */
import type { ReportSummary } from '../db/queries.js';
import type { ReportDiagnosis, ReportVerdict } from '../db/report-verdict.js';
import type { PcrBanks } from '../db/store.js';
import { PCR_BANK_NAMES, PCR_COUNT, pcrDepartures } from '../shared/tpm/pcr-banks.js';
import { ACS_ERROR, describeError } from '../shared/protocol/errors.js';
import { FIRMWARE_PCRS } from '../shared/tpm/pcr-roles.js';

/**
 * pass: quote and logs verified and PCRs on the white list; fail: quote refused
 * (or stored without both verifications); pcrinvalid: verified but off the white list.
 */
export type Outcome = 'pass' | 'fail' | 'pcrinvalid' | 'pending';

export type Verdict = 'pass' | 'fail' | 'warn' | 'none';

export interface Flag {
  /** attestlog column. */
  column: string;
  label: string;
  verdict: Verdict;
  /** Says the verdict in words (badges never rely on colour). */
  text: string;
}

export interface Step {
  name: string;
  verdict: Verdict;
  detail: string;
}

export interface PcrRow {
  bank: 'sha256' | 'sha1';
  pcr: number;
  value: string | null;
  whitelist: string | null;
  previous: string | null;
  /** A refused report's value as its logs replay. */
  replayed: string | null;
  /** Compared with the white list (FIRMWARE_PCRS only: IMA's PCR changes with every file) and different. */
  offWhitelist: boolean;
  /** Different from the previous report. */
  changed: boolean;
}

export function outcomeOf(r: ReportSummary): Outcome {
  if (r.quoted === null) return 'pending';
  if (r.errorCode !== null || r.quoteverified !== true || r.logverified !== true) return 'fail';
  return r.pcrinvalid ? 'pcrinvalid' : 'pass';
}

export const OUTCOME_TEXT: Record<Outcome, string> = {
  pass: 'passed',
  fail: 'failed',
  pcrinvalid: 'PCRs off white list',
  pending: 'no quote received',
};

/** The stored refusal code as a number; null when none, NaN when the column holds something else. */
function errorCodeOf(r: ReportSummary): number | null {
  if (r.errorCode === null) return null;
  return /^[0-9a-f]{8}$/i.test(r.errorCode) ? parseInt(r.errorCode, 16) : NaN;
}

export function errorDescription(r: ReportSummary): string | null {
  const code = errorCodeOf(r);
  if (code === null) return null;
  return Number.isNaN(code) ? `error ${r.errorCode}` : describeError(code);
}

function flag(column: string, label: string, value: boolean | null, good: boolean, failText: string, failVerdict: Verdict = 'fail'): Flag {
  if (value === null) return { column, label, verdict: 'none', text: 'not checked' };
  return value === good
    ? { column, label, verdict: 'pass', text: 'pass' }
    : { column, label, verdict: failVerdict, text: failText };
}

/** IBM ACS's attestlog flags, each with a verdict. */
export function flagsOf(r: ReportSummary): Flag[] {
  return [
    flag('quoteverified', 'quote', r.quoteverified, true, 'fail'),
    flag('logverified', 'firmware log', r.logverified, true, 'fail'),
    flag('imaver', 'IMA log', r.imaver, true, 'fail'),
    flag('badimalog', 'IMA template hashes', r.badimalog, false, 'bad'),
    flag('imasigver', 'IMA signatures', r.imasigver, true, 'not all verified', 'warn'),
    flag('pcrinvalid', 'white list', r.pcrinvalid, false, 'mismatch'),
    flag('pcrschanged', 'PCRs vs previous', r.pcrschanged, false, 'changed', 'warn'),
  ];
}

type StepName = 'quote' | 'selection' | 'logs';

/** The step a refusal code belongs to (codes from PROTOCOL.md / shared/protocol/errors.ts). */
const FAILED_STEP = new Map<number, StepName>([
  [ACS_ERROR.QUOTE_SIGNATURE, 'quote'],
  [ACS_ERROR.NONCE_VALUE, 'quote'],
  [ACS_ERROR.NONCE_MISSING, 'quote'],
  [ACS_ERROR.NONCE_USED, 'quote'],
  [ACS_ERROR.NONCE_EXPIRED, 'quote'],
  [ACS_ERROR.BAD_ALGORITHM, 'quote'],
  [ACS_ERROR.BAD_BLOB, 'quote'],
  [ACS_ERROR.INVALID_KEY, 'quote'],
  [ACS_ERROR.PCR_SELECT, 'selection'],
  [ACS_ERROR.EVENT, 'logs'],
  [ACS_ERROR.TOO_MANY_EVENTS, 'logs'],
  [ACS_ERROR.EVENT_TOO_LARGE, 'logs'],
  [ACS_ERROR.EVENT_SEQUENCE, 'logs'],
]);

function failedStep(r: ReportSummary): StepName | 'request' | null {
  const code = errorCodeOf(r);
  return code === null ? null : (FAILED_STEP.get(code) ?? 'request');
}

function verdict(ok: boolean | null, good: string, bad: string, failVerdict: Verdict = 'fail'): Pick<Step, 'verdict' | 'detail'> {
  return ok === null ? { verdict: 'none', detail: 'not checked' } : ok ? { verdict: 'pass', detail: good } : { verdict: failVerdict, detail: bad };
}

/** The verification the server ran, in order; a refused quote names the step that failed and why. */
export function stepsOf(r: ReportSummary): Step[] {
  const steps: Step[] = [
    { name: 'Nonce issued', verdict: 'pass', detail: `at ${r.timestamp.toISOString()}, expires ${r.nonceExpires.toISOString()}` },
  ];
  if (r.quoted === null) return [...steps, { name: 'Quote received', verdict: 'none', detail: 'no quote arrived for this nonce' }];
  steps.push({ name: 'Quote received', verdict: 'pass', detail: `at ${r.quoted.toISOString()}` });
  const failedAt = failedStep(r);
  const why = `${r.errorCode}: ${errorDescription(r)}${r.errorMessage ? ` (${r.errorMessage})` : ''}`;
  const firmware = r.logentries === null ? 'no firmware log sent (same boot)' : `firmware log of ${r.logentries} events`;
  const ima = `IMA log at ${r.imaevents ?? 0} events this boot`;
  const checks: [StepName, Step][] = [
    ['quote', { name: 'Quote signature, nonce and AK', ...verdict(r.quoteverified, 'the signature verifies with the enrolled AK over the issued nonce', 'did not verify') }],
    ['selection', { name: 'PCR selection as issued', verdict: 'pass', detail: r.pcrselect }],
    ['logs', { name: 'Event logs replay to the quoted PCR digest', ...verdict(r.logverified !== false && r.imaver !== false, `${firmware}; ${ima}`, 'did not replay') }],
  ];
  let stopped = failedAt === 'request';
  if (stopped) steps.push({ name: 'Request accepted', verdict: 'fail', detail: why });
  for (const [key, step] of checks) {
    if (stopped) steps.push({ name: step.name, verdict: 'none', detail: 'not reached' });
    else if (key === failedAt) steps.push({ name: step.name, verdict: 'fail', detail: why });
    else steps.push(step);
    stopped ||= key === failedAt;
  }
  if (stopped) return steps;
  steps.push(
    { name: 'IMA template hashes', ...verdict(r.badimalog === null ? null : !r.badimalog, 'all match', 'some entries have a wrong template hash') },
    { name: 'IMA file signatures', ...verdict(r.imasigver, 'all verified', 'some files unsigned, signed by an unknown key, or badly signed', 'warn') },
    { name: 'Firmware PCRs on the white list', ...verdict(r.pcrinvalid === null ? null : !r.pcrinvalid, 'match', 'firmware PCRs differ from the white list') },
    { name: 'Firmware PCRs as in the previous report', ...verdict(r.pcrschanged === null ? null : !r.pcrschanged, 'unchanged', 'changed since the previous report', 'warn') },
  );
  return steps;
}

/**
 * Every PCR with a value in the report, the white list, the previous report
 * or (refused) the logs' replay; departures from the white list as the
 * server judges them (pcrDepartures over the firmware PCRs).
 */
export function comparePcrs(pcrs: PcrBanks | null, whitelist: PcrBanks | null, previous: PcrBanks | null, replayed: PcrBanks | null = null): PcrRow[] {
  const off = new Set(pcrs && whitelist ? pcrDepartures(pcrs, whitelist, FIRMWARE_PCRS).map((d) => `${d.bank}:${d.pcr}`) : []);
  const rows: PcrRow[] = [];
  for (const bank of PCR_BANK_NAMES) {
    for (let pcr = 0; pcr < PCR_COUNT; pcr++) {
      const value = pcrs?.[bank][pcr] ?? null;
      const wl = whitelist?.[bank][pcr] ?? null;
      const prev = previous?.[bank][pcr] ?? null;
      const rep = replayed?.[bank][pcr] ?? null;
      if (value === null && wl === null && prev === null && rep === null) continue;
      rows.push({
        bank,
        pcr,
        value,
        whitelist: wl,
        previous: prev,
        replayed: rep,
        offWhitelist: off.has(`${bank}:${pcr}`),
        changed: value !== null && prev !== null && value !== prev,
      });
    }
  }
  return rows;
}

/**
 * The diagnosis of a report: the one stored with its verdict, or, for a
 * report stored before verdicts were kept or a nonce still waiting, one
 * sentence from its outcome with nothing named.
 */
export function diagnosisOf(r: ReportSummary, stored: ReportVerdict | null): ReportDiagnosis {
  if (stored) return stored.diagnosis;
  const summary = r.quoted === null
    ? 'No quote arrived for this nonce.'
    : r.errorCode !== null
      ? `Refused: ${errorDescription(r)}${r.errorMessage ? ` (${r.errorMessage})` : ''}.`
      : r.pcrinvalid ? 'Accepted, but firmware PCRs differ from the white list.' : 'Accepted.';
  return { summary, pcrs: [], firmwareEvents: [], imaEntries: [] };
}
