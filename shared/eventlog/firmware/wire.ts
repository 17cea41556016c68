/**
 * IBM ACS wire form of firmware events (the `event0` … `eventK` members of a
 * quote request): each record of the log, re-marshaled big-endian, one record
 * per member. event0 is the first record as a TCG_PCR_EVENT (the Spec ID event
 * of a crypto-agile log); later records are TCG_PCR_EVENT2, or TCG_PCR_EVENT
 * in a legacy SHA-1 log. Only the header integers change byte order: the
 * event data, including the Spec ID event's own little-endian fields, is kept
 * as logged (TCG PC Client PFP TCG_PCClientPCREvent and TCG_PCR_EVENT2).
 */
import { BufferReader, BufferWriter } from '../../tpm/buffer.js';
import { TPM_ALG } from '../../tpm/constants.js';
import { EventLogError } from '../errors.js';
import { FirmwareRecordReader, type FirmwareEvent, type FirmwareLog } from './event.js';

/** Marshals one record big-endian; `legacy` selects the TCG_PCR_EVENT form. */
export function encodeFirmwareWireEvent(ev: FirmwareEvent, legacy: boolean): Buffer {
  const w = new BufferWriter(32 + ev.data.length + ev.digests.reduce((n, d) => n + 2 + d.digest.length, 0));
  w.u32(ev.pcrIndex).u32(ev.eventType);
  if (legacy) {
    const sha1 = ev.digests.find((d) => d.alg === TPM_ALG.SHA1);
    if (!sha1 || sha1.digest.length !== 20) {
      throw new EventLogError('a TCG_PCR_EVENT record needs a 20-byte SHA-1 digest', undefined, ev.index);
    }
    w.bytes(sha1.digest);
  } else {
    w.u32(ev.digests.length);
    for (const d of ev.digests) w.u16(d.alg).bytes(d.digest);
  }
  return w.u32(ev.data.length).bytes(ev.data).finish();
}

/** The whole log in IBM's wire form: element i is the value of member `event<i>`. */
export function encodeFirmwareWireEvents(log: FirmwareLog): Buffer[] {
  return log.events.map((ev, i) => encodeFirmwareWireEvent(ev, i === 0 || log.format === 'legacy'));
}

/** Parses `event0` … `eventK` (already hex-decoded, in order) back into a log. */
export function decodeFirmwareWireEvents(events: readonly Uint8Array[]): FirmwareLog {
  if (events.length === 0) throw new EventLogError('no firmware events');
  const reader = new FirmwareRecordReader(false);
  const out = events.map((bytes, index) => {
    const r = new BufferReader(bytes);
    const ev = reader.read(r, index);
    if (r.remaining !== 0) throw new EventLogError(`${r.remaining} trailing bytes after the event`, r.offset, index);
    return ev;
  });
  return { format: reader.format, specId: reader.specId, events: out };
}

export type { FirmwareEvent, FirmwareLog } from './event.js';
