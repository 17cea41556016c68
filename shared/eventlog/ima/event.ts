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
import { BufferReader } from '../../tpm/buffer.js';
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
  /**
   * The previous record's template name: a log repeats one or two names, and
   * comparing bytes is cheaper than decoding a new string per record.
   */
  lastName: string;
}

export function imaRecordFormat(opts: ImaParseOptions = {}): ImaRecordFormat {
  const hashSize = opts.templateHashSize ?? bankSize(resolveTemplateHashAlg(opts.templateHashAlg));
  if (!Number.isInteger(hashSize) || hashSize < 1 || hashSize > 64) {
    throw new EventLogError(`template hash size ${hashSize} is not supported`);
  }
  return { hashSize, littleEndian: !opts.bigEndian, maxData: opts.maxTemplateDataSize ?? DEFAULT_MAX_DATA, lastName: '' };
}

function u32(r: BufferReader, le: boolean, what: string): number {
  return le ? r.u32le(what) : r.u32(what);
}

function templateName(r: BufferReader, len: number, f: ImaRecordFormat): string {
  const b = r.buf;
  const p = r.offset;
  const last = f.lastName;
  let same = last.length === len;
  for (let i = 0; same && i < len; i++) same = b[p + i] === last.charCodeAt(i);
  if (same) {
    r.skip(len, 'template name');
    return last;
  }
  f.lastName = r.latin1(len, 'template name');
  return f.lastName;
}

/**
 * Decodes the record at the reader's offset and moves past it, or returns
 * null (the offset unchanged) when the bytes up to the reader's end do not
 * hold all of it yet. Throws EventLogError for values no log can have. Each
 * read is preceded by a length check, so the reader never runs out mid-record.
 */
export function decodeImaRecord(r: BufferReader, f: ImaRecordFormat, index: number): ImaEvent | null {
  const le = f.littleEndian;
  const off = r.offset;
  if (r.remaining < 8 + f.hashSize) return null;
  const pcrIndex = u32(r, le, 'PCR index');
  // A larger index than the platform's PCR count means a wrong byte order or garbage.
  if (pcrIndex >= PCR_COUNT) throw new EventLogError(`PCR index ${pcrIndex} out of range (wrong byte order?)`, off, index);
  const templateHash = r.bytes(f.hashSize, 'template hash');
  const nameLen = u32(r, le, 'template name length');
  if (nameLen === 0 || nameLen > MAX_NAME) throw new EventLogError(`template name length ${nameLen} out of range`, off, index);
  if (r.remaining < nameLen) return rewind(r, off);
  const name = templateName(r, nameLen, f);
  let dataLen: number;
  if (name === 'ima') {
    // No data length: digest[20] | u32 file name length | file name.
    if (r.remaining < 24) return rewind(r, off);
    const fileNameLen = le ? r.peekU32le(20) : r.peekU32(20);
    if (fileNameLen > MAX_NAME) throw new EventLogError(`'ima' file name length ${fileNameLen} out of range`, off, index);
    dataLen = 24 + fileNameLen;
  } else {
    if (r.remaining < 4) return rewind(r, off);
    dataLen = u32(r, le, 'template data length');
    if (dataLen > f.maxData) throw new EventLogError(`template data length ${dataLen} exceeds ${f.maxData}`, off, index);
  }
  if (r.remaining < dataLen) return rewind(r, off);
  return { index, pcrIndex, templateHash, templateName: name, templateData: r.bytes(dataLen, 'template data'), littleEndian: le };
}

function rewind(r: BufferReader, off: number): null {
  r.offset = off;
  return null;
}

export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * The events of a log held in memory, one at a time. A plain iterator rather
 * than a generator: resuming a generator per record costs more than the rest
 * of the parse.
 */
class ImaLogIterator implements IterableIterator<ImaEvent> {
  private reader: BufferReader | null = null;
  private format: ImaRecordFormat | null = null;
  private index: number;

  constructor(private readonly input: Uint8Array, private readonly opts: ImaParseOptions) {
    this.index = opts.firstIndex ?? 0;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<ImaEvent> {
    // Options are checked on the first read, as a generator would.
    const r = this.reader ?? (this.reader = new BufferReader(asBuffer(this.input)));
    const f = this.format ?? (this.format = imaRecordFormat(this.opts));
    if (r.remaining === 0) return { value: undefined, done: true };
    const off = r.offset;
    const ev = decodeImaRecord(r, f, this.index);
    if (!ev) throw new EventLogError(`truncated event: ${r.remaining} bytes left`, off, this.index);
    this.index++;
    return { value: ev, done: false };
  }
}

/** Every event of a binary log held in memory. An empty input has no events. */
export function iterateImaBinaryLog(input: Uint8Array, opts: ImaParseOptions = {}): IterableIterator<ImaEvent> {
  return new ImaLogIterator(input, opts);
}

export function parseImaBinaryLog(input: Uint8Array, opts: ImaParseOptions = {}): ImaEvent[] {
  return [...iterateImaBinaryLog(input, opts)];
}
