import type { AttestationPatch, IssuedNonce, BiosEventRow, ImaEventRow, MachinePatch, MachineState, PcrBanks, VerifiedPcrs } from '../db/store.js';
import type { TpmAttest } from '../shared/tpm/attest.js';
import { TPM_ALG } from '../shared/tpm/constants.js';
import { eventTypeName } from '../shared/eventlog/event-types.js';
import { describeEventData } from '../shared/eventlog/event-data.js';
import type { AttestationPolicy } from './attestation-policy.js';
import type { CheckedFirmwareLog } from './firmware-evidence.js';
import type { CheckedImaEvent, CheckedImaEvents } from './ima-evidence.js';
import type { PcrMatch } from './pcr-match.js';
import type { PcrJudgement } from './policy/apply.js';

export interface RecordInput {
  m: MachineState;
  a: IssuedNonce;
  match: PcrMatch;
  previous: VerifiedPcrs | undefined;
  attest: TpmAttest;
  quoteRecord: string;
  ima: CheckedImaEvents;
  firmware: CheckedFirmwareLog | null;
  now: Date;
  policy: AttestationPolicy;
  /** The firmware PCRs against the reference values or white list (policy/apply.ts judgePcrs). */
  pcrCheck: PcrJudgement | null;
  /** IMA policy violations of this boot so far; null without a policy. */
  policyViolations: number | null;
}

/**
 * The attestlog and machines updates of an accepted quote (IBM ACS
 * semantics): the first verified quote after enrollment sets the PCR white
 * list; pcrinvalid flags firmware PCRs that differ from the machine's
 * reference values (from its first quote on) or else from its white list,
 * and pcrschanged one that differs from the previous verified attestation.
 */
export function attestationRecord(r: RecordInput): { attestation: AttestationPatch; machine: MachinePatch } {
  const firstQuote = r.m.whitelist === null;
  const accepted = acceptedImaEvents(r.ima, r.match);
  const attestation: AttestationPatch = {
    quote: r.quoteRecord,
    quoted: r.now,
    pcrs: r.match.pcrs,
    quoteverified: true,
    logverified: true,
    imaver: true,
    imasigver: accepted.every((e) => !e.nosig && !e.nokey && !e.badsig),
    badimalog: accepted.some((e) => e.badevent),
    logentries: r.firmware ? r.firmware.wire.length : null,
    imaevents: r.match.imaNext,
    pcrinvalid: (r.pcrCheck?.departures.length ?? 0) > 0,
    policyViolations: r.policyViolations,
    pcrschanged: r.previous?.pcrs ? differs(r.match.pcrs, r.previous.pcrs, r.policy.firmwarePcrs) : false,
    resetCount: r.attest.clockInfo.resetCount,
    restartCount: r.attest.clockInfo.restartCount,
    errorCode: null,
    errorMessage: null,
  };
  const machine: MachinePatch = {
    boottime: r.a.boottime,
    imaevents: r.match.imaNext,
    imapcr: r.match.imaPcr.sha256,
    imapcrSha1: r.match.imaPcr.sha1,
    resetCount: r.attest.clockInfo.resetCount,
    restartCount: r.attest.clockInfo.restartCount,
    policyViolations: r.policyViolations,
    ...(firstQuote ? { whitelist: r.match.pcrs } : {}),
  };
  return { attestation, machine };
}

/** True when any of `pcrs` has a known value in both and the values differ. */
function differs(x: PcrBanks, y: PcrBanks, pcrs: number[]): boolean {
  for (const bank of ['sha256', 'sha1'] as const) {
    for (const p of pcrs) {
      const a = x[bank][p];
      const b = y[bank][p];
      if (a && b && a !== b) return true;
    }
  }
  return false;
}

export function biosRows(m: MachineState, a: IssuedNonce, fw: CheckedFirmwareLog, now: Date): BiosEventRow[] {
  return fw.log.events.map((ev, i) => ({
    machineId: m.id,
    attestationId: a.id,
    hostname: m.hostname,
    timestamp: now,
    entrynum: i,
    biosEntry: fw.wire[i].toString('hex'),
    pcrindex: ev.pcrIndex,
    pcrsha1: ev.digests.find((d) => d.alg === TPM_ALG.SHA1)?.digest.toString('hex') ?? null,
    pcrsha256: ev.digests.find((d) => d.alg === TPM_ALG.SHA256)?.digest.toString('hex') ?? null,
    eventtype: eventTypeName(ev.eventType),
    event: describeEventData(ev),
  }));
}

/** The IMA events the quote covers, with the replay's template-hash verdict folded into badevent. */
export function acceptedImaEvents(ima: CheckedImaEvents, match: PcrMatch): CheckedImaEvent[] {
  return ima.events
    .slice(match.imaSkipped, match.imaSkipped + match.imaAccepted)
    .map((e, i) => (match.templateChecks[i] === 'mismatch' ? { ...e, badevent: true } : e));
}

export function imaRows(m: MachineState, a: IssuedNonce, events: CheckedImaEvent[], now: Date): ImaEventRow[] {
  return events.map((e) => ({
    machineId: m.id,
    attestationId: a.id,
    hostname: m.hostname,
    boottime: a.boottime,
    timestamp: now,
    entrynum: e.index,
    imaEntry: e.wire.toString('hex'),
    filename: e.filename,
    template: e.templateName,
    filehash: e.filehash,
    badevent: e.badevent,
    nosig: e.nosig,
    nokey: e.nokey,
    badsig: e.badsig,
  }));
}
