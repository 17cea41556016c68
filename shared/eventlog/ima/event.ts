/**
 * Linux IMA binary measurement log (binary_runtime_measurements), as written
 * by security/integrity/ima/ima_fs.c ima_measurements_show():
 *
 *   pcr u32 | template hash [H] | name_len u32 | template name |
 *   data_len u32 | template data[data_len]
 *
 * Integers are host-endian (little-endian unless the log comes from a
 * big-endian host without ima_canonical_fmt). H is 20 bytes (SHA-1) in
 * binary_runtime_measurements and the bank size in the per-bank
 * binary_runtime_measurements_<alg> files of Linux 6.10+: the log does not
 * say which, so the reader is told. The legacy 'ima' template has no data_len;
 * its data is a 20-byte digest, u32 name length and the name.
 *
 * Events are views into the input (no copies): keep the input alive while
 * events are used.
 */
import { HASH_ALGS, type HashAlg } from '../../tpm/constants.js';
import { PCR_COUNT } from '../../tpm/pcr-banks.js';
import { EventLogError } from '../errors.js';
import { bankSize, parseBankLabel } from '../pcr-values.js';

export interface ImaEvent {
  /** Absolute index in the boot's log (0 = boot_aggregate). */
  index: number;
  pcrIndex: number;
  templateHash: Buffer;
  templateName: string;
  /** As the kernel logs it; for 'ima': digest[20] | u32 name length | name. */
  templateData: Buffer;
  /** Byte order of the length fields inside templateData. */
  littleEndian: boolean;
}

export interface ImaParseOptions {
  /** Template-hash algorithm (name or TPM_ALG_ID); default sha1. */
  templateHashAlg?: HashAlg | string | number;
  /** Template-hash size in bytes, when only the size is known. */
  templateHashSize?: number;
  /** The log comes from a big-endian host (no ima_canonical_fmt). */
  bigEndian?: boolean;
  /** Index of the first event in the input (for logs read from the middle). */
  firstIndex?: number;
  /** Refuse template data larger than this (default 1 MiB). */
  maxTemplateDataSize?: number;
}

/** The kernel caps template names at TCG_EVENT_NAME_LEN_MAX (255) and 'ima' file names likewise. */
const MAX_NAME = 255;
const DEFAULT_MAX_DATA = 1 << 20;

export function resolveTemplateHashAlg(alg: HashAlg | string | number | undefined): HashAlg {
  if (alg === undefined) return 'sha1';
  if (typeof alg === 'number') {
    const h = HASH_ALGS.get(alg);
    if (!h) throw new EventLogError(`unsupported template hash algorithm 0x${alg.toString(16).padStart(4, '0')}`);
    return h.name;
  }
  try {
    return parseBankLabel(alg);
  } catch {
    throw new EventLogError(`unsupported template hash algorithm ${alg}`);
  }
}

/** Settings of one parse, resolved once. */
export interface ImaRecordFormat {
  hashSize: number;
  littleEndian: boolean;
  maxData: number;
}

export function imaRecordFormat(opts: ImaParseOptions = {}): ImaRecordFormat {
  const hashSize = opts.templateHashSize ?? bankSize(resolveTemplateHashAlg(opts.templateHashAlg));
  if (!Number.isInteger(hashSize) || hashSize < 1 || hashSize > 64) {
    throw new EventLogError(`template hash size ${hashSize} is not supported`);
  }
  return { hashSize, littleEndian: !opts.bigEndian, maxData: opts.maxTemplateDataSize ?? DEFAULT_MAX_DATA };
}

/** Where the record after the last decoded one starts; reused to avoid an allocation per event. */
export interface ImaCursor {
  next: number;
}

function u32(b: Buffer, off: number, le: boolean): number {
  return le ? b.readUInt32LE(off) : b.readUInt32BE(off);
}

/**
 * Decodes the record at `off`, or returns null when the bytes up to `end` do
 * not hold all of it yet. Throws EventLogError for values no log can have.
 */
export function decodeImaRecord(
  b: Buffer, off: number, end: number, f: ImaRecordFormat, index: number, cursor: ImaCursor,
): ImaEvent | null {
  const le = f.littleEndian;
  if (end - off < 8 + f.hashSize) return null;
  const pcrIndex = u32(b, off, le);
  // A larger index than the platform's PCR count means a wrong byte order or garbage.
  if (pcrIndex >= PCR_COUNT) throw new EventLogError(`PCR index ${pcrIndex} out of range (wrong byte order?)`, off, index);
  const hashAt = off + 4;
  let p = hashAt + f.hashSize;
  const nameLen = u32(b, p, le);
  p += 4;
  if (nameLen === 0 || nameLen > MAX_NAME) throw new EventLogError(`template name length ${nameLen} out of range`, off, index);
  if (end - p < nameLen) return null;
  const templateName = b.toString('latin1', p, p + nameLen);
  p += nameLen;
  let dataLen: number;
  if (templateName === 'ima') {
    if (end - p < 24) return null;
    const fileNameLen = u32(b, p + 20, le);
    if (fileNameLen > MAX_NAME) throw new EventLogError(`'ima' file name length ${fileNameLen} out of range`, off, index);
    dataLen = 24 + fileNameLen;
  } else {
    if (end - p < 4) return null;
    dataLen = u32(b, p, le);
    p += 4;
    if (dataLen > f.maxData) throw new EventLogError(`template data length ${dataLen} exceeds ${f.maxData}`, off, index);
  }
  if (end - p < dataLen) return null;
  cursor.next = p + dataLen;
  return {
    index,
    pcrIndex,
    templateHash: b.subarray(hashAt, hashAt + f.hashSize),
    templateName,
    templateData: b.subarray(p, p + dataLen),
    littleEndian: le,
  };
}

export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Every event of a binary log held in memory. An empty input has no events. */
export function* iterateImaBinaryLog(input: Uint8Array, opts: ImaParseOptions = {}): Generator<ImaEvent> {
  const b = asBuffer(input);
  const f = imaRecordFormat(opts);
  const cursor: ImaCursor = { next: 0 };
  let index = opts.firstIndex ?? 0;
  for (let off = 0; off < b.length; off = cursor.next) {
    const ev = decodeImaRecord(b, off, b.length, f, index, cursor);
    if (!ev) throw new EventLogError(`truncated event: ${b.length - off} bytes left`, off, index);
    yield ev;
    index++;
  }
}

export function parseImaBinaryLog(input: Uint8Array, opts: ImaParseOptions = {}): ImaEvent[] {
  return [...iterateImaBinaryLog(input, opts)];
}
