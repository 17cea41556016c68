/**
 * Firmware (TCG PC Client) event log records.
 *
 * The kernel's binary_bios_measurements is little-endian (firmware writes
 * the log in the platform's byte order); IBM ACS sends the same records
 * re-marshaled big-endian (see wire.ts). Both go through the record
 * reader here, in one byte order or the other.
 *
 * Layout (PFP 1.05 §10.2.1 TCG_PCClientPCREvent, §10.2.2 TCG_PCR_EVENT2):
 *   TCG_PCR_EVENT  = pcrIndex u32 | eventType u32 | SHA-1 digest[20] | eventSize u32 | event
 *   TCG_PCR_EVENT2 = pcrIndex u32 | eventType u32 | TPML_DIGEST_VALUES | eventSize u32 | event
 *   TPML_DIGEST_VALUES = count u32 | count × (hashAlg u16 | digest[size of hashAlg])
 * The first record is always a TCG_PCR_EVENT. In a crypto-agile log it is the
 * EV_NO_ACTION Spec ID event ("Spec ID Event03", PFP 1.04 §9.4.5.1
 * Specification ID Version Event), which lists the digest algorithms and
 * their sizes; every later record is a TCG_PCR_EVENT2.
 */
import { BufferReader, MarshalError } from '../../tpm/buffer.js';
import { HASH_ALGS, TPM_ALG } from '../../tpm/constants.js';
import { EventLogError } from '../errors.js';
import { EV } from './event-types.js';

export interface EventDigest {
  /** TPM_ALG_ID */
  alg: number;
  digest: Buffer;
}

export interface FirmwareEvent {
  /** 0-based record number in the log; the Spec ID event is record 0. */
  index: number;
  pcrIndex: number;
  eventType: number;
  /** In the order the log has them (which may differ between records). */
  digests: EventDigest[];
  /** A view of the event bytes, kept exactly as logged. */
  data: Buffer;
}

export interface SpecIdAlgorithm {
  algId: number;
  digestSize: number;
}

/** TCG_EfiSpecIDEventStruct (PFP Specification ID Version Event). Integers inside are little-endian in every form. */
export interface SpecIdEvent {
  platformClass: number;
  specVersionMinor: number;
  specVersionMajor: number;
  errata: number;
  uintnSize: number;
  algorithms: SpecIdAlgorithm[];
  vendorInfo: Buffer;
}

export interface FirmwareLog {
  format: 'legacy' | 'crypto-agile';
  /** The parsed Spec ID Event03 of a crypto-agile log. */
  specId: SpecIdEvent | null;
  /** Every record, including the Spec ID event and other EV_NO_ACTION records. */
  events: FirmwareEvent[];
}

const SPEC_ID_EVENT03 = Buffer.from('Spec ID Event03\0', 'latin1');
const SHA1_SIZE = 20;
/** A TPML_DIGEST_VALUES never lists more banks than a TPM has; bounds the loop on garbage. */
const MAX_DIGESTS = 16;

/** The digest algorithms of a log: the Spec ID event's list, or SHA-1 for a legacy log. */
export function firmwareLogBanks(log: FirmwareLog): number[] {
  return log.specId ? log.specId.algorithms.map((a) => a.algId) : [TPM_ALG.SHA1];
}

/** Parses a Spec ID Event03, or returns null when the data has another signature. */
export function parseSpecIdEvent(data: Buffer): SpecIdEvent | null {
  if (data.length < SPEC_ID_EVENT03.length || !data.subarray(0, SPEC_ID_EVENT03.length).equals(SPEC_ID_EVENT03)) {
    return null;
  }
  const r = new BufferReader(data);
  r.offset = SPEC_ID_EVENT03.length;
  try {
    const platformClass = r.u32le('platformClass');
    const specVersionMinor = r.u8('specVersionMinor');
    const specVersionMajor = r.u8('specVersionMajor');
    const errata = r.u8('errata');
    const uintnSize = r.u8('uintnSize');
    const count = r.u32le('numberOfAlgorithms');
    if (count === 0 || count * 4 > r.remaining) {
      throw new EventLogError(`Spec ID event lists ${count} algorithms in ${r.remaining} bytes`);
    }
    const algorithms: SpecIdAlgorithm[] = [];
    for (let i = 0; i < count; i++) {
      algorithms.push({ algId: r.u16le('algorithmId'), digestSize: r.u16le('digestSize') });
    }
    const vendorInfo = r.bytes(r.u8('vendorInfoSize'), 'vendorInfo');
    return { platformClass, specVersionMinor, specVersionMajor, errata, uintnSize, algorithms, vendorInfo };
  } catch (e) {
    if (e instanceof MarshalError) throw new EventLogError(`malformed Spec ID event: ${e.message}`);
    throw e;
  }
}

/**
 * Reads records in either byte order. The first record decides the format;
 * later records are read as TCG_PCR_EVENT2 with the Spec ID event's digest
 * sizes, or as TCG_PCR_EVENT in a legacy SHA-1 log.
 */
export class FirmwareRecordReader {
  specId: SpecIdEvent | null = null;
  private sizes: Map<number, number> | null = null;

  constructor(private readonly littleEndian: boolean) {}

  get format(): FirmwareLog['format'] {
    return this.sizes ? 'crypto-agile' : 'legacy';
  }

  read(r: BufferReader, index: number): FirmwareEvent {
    const start = r.offset;
    try {
      if (index > 0) return this.sizes ? this.readEvent2(r, index) : this.readEvent(r, index);
      const ev = this.readEvent(r, index);
      if (ev.eventType === EV.NO_ACTION && ev.pcrIndex === 0) {
        this.specId = parseSpecIdEvent(ev.data);
        if (this.specId) this.sizes = new Map(this.specId.algorithms.map((a) => [a.algId, a.digestSize]));
      }
      return ev;
    } catch (e) {
      if (e instanceof MarshalError) throw new EventLogError(e.message, start, index);
      if (e instanceof EventLogError && e.offset === undefined) throw new EventLogError(e.detail, start, index);
      throw e;
    }
  }

  private u32(r: BufferReader, what: string): number {
    return this.littleEndian ? r.u32le(what) : r.u32(what);
  }

  private eventData(r: BufferReader): Buffer {
    const size = this.u32(r, 'eventSize');
    if (size > r.remaining) throw new EventLogError(`event data size ${size} exceeds the remaining ${r.remaining} bytes`);
    return r.bytes(size, 'event');
  }

  /** TCG_PCR_EVENT (PFP TCG_PCClientPCREvent). */
  private readEvent(r: BufferReader, index: number): FirmwareEvent {
    const pcrIndex = this.u32(r, 'pcrIndex');
    const eventType = this.u32(r, 'eventType');
    const digest = r.bytes(SHA1_SIZE, 'digest');
    const data = this.eventData(r);
    return { index, pcrIndex, eventType, digests: [{ alg: TPM_ALG.SHA1, digest }], data };
  }

  /** TCG_PCR_EVENT2 (PFP): digests are matched by algorithm id, never by position. */
  private readEvent2(r: BufferReader, index: number): FirmwareEvent {
    const pcrIndex = this.u32(r, 'pcrIndex');
    const eventType = this.u32(r, 'eventType');
    const count = this.u32(r, 'digest count');
    if (count > MAX_DIGESTS) throw new EventLogError(`digest count ${count} is not plausible`);
    const digests: EventDigest[] = [];
    for (let i = 0; i < count; i++) {
      const alg = this.littleEndian ? r.u16le('hashAlg') : r.u16('hashAlg');
      const size = this.sizes!.get(alg) ?? HASH_ALGS.get(alg)?.size;
      if (size === undefined) {
        throw new EventLogError(`digest algorithm 0x${alg.toString(16).padStart(4, '0')} is not in the Spec ID event`);
      }
      digests.push({ alg, digest: r.bytes(size, 'digest') });
    }
    const data = this.eventData(r);
    return { index, pcrIndex, eventType, digests, data };
  }
}

/**
 * Parses the kernel's binary_bios_measurements (little-endian). An empty
 * input is refused: a booted TPM platform always logs at least one event.
 */
export function parseFirmwareLog(buf: Uint8Array): FirmwareLog {
  if (buf.length === 0) throw new EventLogError('empty firmware event log');
  const r = new BufferReader(buf);
  const reader = new FirmwareRecordReader(true);
  const events: FirmwareEvent[] = [];
  while (r.remaining > 0) events.push(reader.read(r, events.length));
  return { format: reader.format, specId: reader.specId, events };
}
