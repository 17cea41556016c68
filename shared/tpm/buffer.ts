/**
 * Big-endian reader and writer for TPM 2.0 marshaling (TPM 2.0 Part 2 §5:
 * all integers are big-endian, TPM2B is a UINT16 size followed by bytes),
 * with little-endian reads for the logs firmware and the kernel write in
 * host order. The reader never reads past its end: it throws MarshalError
 * instead, so every unmarshaler built on it fails with a typed error on
 * truncated input.
 */

export class MarshalError extends Error {
  override name = 'MarshalError';
}

export class BufferReader {
  offset = 0;
  /** The input as a Buffer, so views of it are cheap subarrays. */
  readonly buf: Buffer;

  constructor(input: Uint8Array, private readonly end = input.length) {
    this.buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.offset + n > this.end) {
      throw new MarshalError(`truncated ${what}: need ${n} bytes at offset ${this.offset}, have ${this.remaining}`);
    }
  }

  u8(what = 'UINT8'): number {
    this.need(1, what);
    return this.buf[this.offset++];
  }

  u16(what = 'UINT16'): number {
    this.need(2, what);
    const v = (this.buf[this.offset] << 8) | this.buf[this.offset + 1];
    this.offset += 2;
    return v;
  }

  u32(what = 'UINT32'): number {
    this.need(4, what);
    const b = this.buf;
    const o = this.offset;
    this.offset += 4;
    return ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
  }

  u64(what = 'UINT64'): bigint {
    const hi = this.u32(what);
    const lo = this.u32(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** Little-endian reads, for logs the kernel writes in host order. */
  u16le(what = 'UINT16'): number {
    this.need(2, what);
    const v = this.buf[this.offset] | (this.buf[this.offset + 1] << 8);
    this.offset += 2;
    return v;
  }

  u32le(what = 'UINT32'): number {
    this.need(4, what);
    const b = this.buf;
    const o = this.offset;
    this.offset += 4;
    return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + ((b[o + 3] << 24) >>> 0);
  }

  u64le(what = 'UINT64'): bigint {
    const lo = this.u32le(what);
    const hi = this.u32le(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A UINT32 `at` bytes ahead, without moving: for a length that follows the bytes it counts. */
  peekU32(at: number, what = 'UINT32'): number {
    this.need(at + 4, what);
    const b = this.buf;
    const o = this.offset + at;
    return ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
  }

  peekU32le(at: number, what = 'UINT32'): number {
    this.need(at + 4, what);
    const b = this.buf;
    const o = this.offset + at;
    return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + ((b[o + 3] << 24) >>> 0);
  }

  /** A view of the next n bytes (no copy). */
  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const o = this.offset;
    this.offset += n;
    return this.buf.subarray(o, o + n);
  }

  skip(n: number, what = 'bytes'): void {
    this.need(n, what);
    this.offset += n;
  }

  /** The next n bytes as Latin-1 text (names the kernel writes as raw bytes). */
  latin1(n: number, what = 'string'): string {
    this.need(n, what);
    const o = this.offset;
    this.offset += n;
    return this.buf.toString('latin1', o, o + n);
  }

  /** TPM2B_*: UINT16 size then that many bytes. */
  tpm2b(what = 'TPM2B', maxSize = 0xffff): Buffer {
    const size = this.u16(`${what}.size`);
    if (size > maxSize) throw new MarshalError(`${what}.size ${size} exceeds ${maxSize}`);
    return this.bytes(size, what);
  }

  /** Fails when bytes remain: a structure must consume its whole encoding. */
  done(what: string): void {
    if (this.remaining !== 0) {
      throw new MarshalError(`${this.remaining} trailing bytes after ${what}`);
    }
  }
}

export class BufferWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  get length(): number {
    return this.len;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.len);
    this.len += 2;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
    return this;
  }

  u64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigUInt64BE(v, this.len);
    this.len += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** TPM2B_*: UINT16 size then the bytes. */
  tpm2b(b: Uint8Array): this {
    if (b.length > 0xffff) throw new MarshalError(`TPM2B of ${b.length} bytes`);
    return this.u16(b.length).bytes(b);
  }

  /** Overwrites a UINT32 already written, e.g. a command's size field. */
  patchU32(offset: number, v: number): this {
    this.buf.writeUInt32BE(v >>> 0, offset);
    return this;
  }

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}
