/**
 * The rows an attestation writes (IBM ACS's attestlog, machines, bioslog and
 * imalog semantics), built from the verification core's verdict: the first
 * verified quote after enrollment sets the PCR white list; pcrinvalid flags a
 * firmware PCR that differs from the machine's reference values (from its
 * first quote on) or else its white list, pcrschanged one that differs from
 * the previous verified attestation.
 */
import type { AttestationPatch, IssuedNonce, BiosEventRow, ImaEventRow, MachinePatch, MachineRow } from '../db/store.js';
import type { TpmAttest } from '../shared/tpm/attest.js';
import { TPM_ALG } from '../shared/tpm/constants.js';
import { eventTypeName } from '../shared/eventlog/firmware/event-types.js';
import { describeEventData } from '../shared/eventlog/firmware/event-data.js';
import type { CheckedFirmwareLog, CheckedImaEvent, CheckedImaEvents } from './verify/evidence.js';
import type { Acceptance } from './verify/verdict.js';

export interface RecordInput {
  a: IssuedNonce;
  acceptance: Acceptance;
  attest: TpmAttest;
  quoteRecord: string;
  ima: CheckedImaEvents;
  firmware: CheckedFirmwareLog | null;
  now: Date;
  /** IMA entries of this boot an assigned runtime policy did not allow; null without a policy (policy/apply.ts). */
  policyViolations: number | null;
}

export function attestationRecord(r: RecordInput): { attestation: AttestationPatch; machine: MachinePatch } {
  const v = r.acceptance;
  const accepted = acceptedImaEvents(r.ima, v);
  const attestation: AttestationPatch = {
    quote: r.quoteRecord,
    quoted: r.now,
    pcrs: v.pcrs,
    quoteverified: true,
    logverified: true,
    imaver: true,
    imasigver: accepted.every((e) => !e.nosig && !e.nokey && !e.badsig),
    badimalog: accepted.some((e) => e.badevent),
    logentries: r.firmware ? r.firmware.wire.length : null,
    imaevents: v.imaNext,
    pcrinvalid: v.offWhitelist.length > 0,
    pcrschanged: v.changed.length > 0,
    resetCount: r.attest.clockInfo.resetCount,
    restartCount: r.attest.clockInfo.restartCount,
    errorCode: null,
    errorMessage: null,
    policyViolations: r.policyViolations,
  };
  const machine: MachinePatch = {
    boottime: r.a.boottime,
    imaevents: v.imaNext,
    imapcr: v.imaPcr.sha256,
    imapcrSha1: v.imaPcr.sha1,
    resetCount: r.attest.clockInfo.resetCount,
    restartCount: r.attest.clockInfo.restartCount,
    policyViolations: r.policyViolations,
    ...(v.setsWhitelist ? { whitelist: v.pcrs } : {}),
  };
  return { attestation, machine };
}

/** The firmware log's rows; `refused` marks the evidence of a refused quote. */
export function biosRows(m: Pick<MachineRow, 'id' | 'hostname'>, a: IssuedNonce, fw: CheckedFirmwareLog, now: Date, refused: boolean): BiosEventRow[] {
  return fw.log.events.map((ev, i) => ({
    machineId: m.id,
    attestationId: a.id,
    hostname: m.hostname,
    timestamp: now,
    entrynum: i,
    biosEntry: fw.wire[i]!.toString('hex'),
    pcrindex: ev.pcrIndex,
    pcrsha1: ev.digests.find((d) => d.alg === TPM_ALG.SHA1)?.digest.toString('hex') ?? null,
    pcrsha256: ev.digests.find((d) => d.alg === TPM_ALG.SHA256)?.digest.toString('hex') ?? null,
    eventtype: eventTypeName(ev.eventType),
    event: describeEventData(ev),
    refused,
  }));
}

/** The IMA events the quote covers, with the replay's template-hash verdict folded into badevent. */
export function acceptedImaEvents(ima: CheckedImaEvents, v: Pick<Acceptance, 'imaSkipped' | 'imaAccepted' | 'templateChecks'>): CheckedImaEvent[] {
  return ima.events
    .slice(v.imaSkipped, v.imaSkipped + v.imaAccepted)
    .map((e, i) => (v.templateChecks[i] === 'mismatch' ? { ...e, badevent: true } : e));
}

export function imaRows(m: Pick<MachineRow, 'id' | 'hostname'>, a: IssuedNonce, events: CheckedImaEvent[], now: Date, refused: boolean): ImaEventRow[] {
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
    refused,
  }));
}
