/**
 * Naming the firmware events behind a suspect PCR: the events of that PCR
 * in the log sent, compared with the same PCR's events in the machine's
 * last accepted firmware log (verify/entries.ts compares; this reads).
 */
import type { AcceptedFirmwareEvent, StoreTx } from '../db/store.js';
import { TPM_ALG } from '../shared/tpm/constants.js';
import { eventTypeName } from '../shared/eventlog/firmware/event-types.js';
import { differingFirmwareEvents, type FirmwareEventDigest } from './verify/entries.js';
import type { CheckedFirmwareLog } from './verify/evidence.js';
import { withFirmwareEvents } from './verify/diagnosis.js';
import type { Verdict } from './verify/verdict.js';

const digests = (sha1: string | null, sha256: string | null) => `sha1:${sha1 ?? '-'} sha256:${sha256 ?? '-'}`;

function sent(fw: CheckedFirmwareLog): FirmwareEventDigest[] {
  return fw.log.events.map((ev, i) => ({
    entrynum: i,
    pcrIndex: ev.pcrIndex,
    eventtype: eventTypeName(ev.eventType),
    digests: digests(
      ev.digests.find((d) => d.alg === TPM_ALG.SHA1)?.digest.toString('hex') ?? null,
      ev.digests.find((d) => d.alg === TPM_ALG.SHA256)?.digest.toString('hex') ?? null,
    ),
  }));
}

function stored(rows: AcceptedFirmwareEvent[]): FirmwareEventDigest[] {
  return rows.map((r) => ({ entrynum: r.entrynum, pcrIndex: r.pcrindex, eventtype: r.eventtype, digests: digests(r.pcrsha1, r.pcrsha256) }));
}

/** The verdict with the differing firmware events of its suspect PCRs named (one read, only when a PCR is suspect). */
export async function nameFirmwareEvents(tx: StoreTx, machineId: number, attestationId: number, fw: CheckedFirmwareLog | null, v: Verdict): Promise<Verdict> {
  if (!fw || v.suspectFirmwarePcrs.length === 0) return v;
  const accepted = await tx.acceptedFirmwareEvents(machineId, attestationId, v.suspectFirmwarePcrs);
  if (accepted.length === 0) return v;
  const named = differingFirmwareEvents(sent(fw), stored(accepted), v.suspectFirmwarePcrs);
  return { ...v, diagnosis: withFirmwareEvents(v.diagnosis, named) };
}
