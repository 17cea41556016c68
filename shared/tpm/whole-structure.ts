/**
 * Marshaling one TPM structure as a buffer of its own, as the wire protocol
 * carries them (hex of TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC, ...). A
 * buffer that holds more than the structure is refused rather than read in
 * part: trailing bytes would be data no check had looked at.
 */
import { BufferReader, BufferWriter } from './buffer.js';

/** Reads `buf` with `read`, which must consume it exactly; `what` names the structure in errors. */
export function unmarshalWhole<T>(buf: Uint8Array, what: string, read: (r: BufferReader) => T): T {
  const r = new BufferReader(buf);
  const value = read(r);
  r.done(what);
  return value;
}

/** Writes `value` with `write` into a buffer of its own; `sizeHint` is only the initial capacity. */
export function marshalWhole<T>(value: T, sizeHint: number, write: (w: BufferWriter, value: T) => void): Buffer {
  const w = new BufferWriter(sizeHint);
  write(w, value);
  return w.finish();
}
