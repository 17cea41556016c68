/**
 * ACS framing: a 4-byte big-endian length, then that many bytes of UTF-8
 * JSON. IBM ACS appends a NUL and counts it in the length; we send it too and
 * accept payloads with or without it (PROTOCOL.md "Framing").
 *
 * The codec only, free of I/O like node-postgres' pg-protocol: encodeFrame
 * and frameParts serialize, FrameDecoder cuts frames out of whatever chunks
 * a transport delivers, decodePayload turns a payload into its object. The
 * client's socket side is client/exchange.ts, the server's server/connection.ts.
 */
import { ACS_ERROR, AcsError } from './errors.js';

export const FRAME_HEADER_BYTES = 4;
/** Default limit on a frame's declared length (IBM allows 100 MB). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

export type JsonObject = Record<string, unknown>;

/** The declared length is over the limit; raised before the body is buffered. */
export class FrameTooLargeError extends AcsError {
  override name = 'FrameTooLargeError';
  constructor(readonly declaredBytes: number, readonly maxBytes: number) {
    super(ACS_ERROR.PACKET_LENGTH, `frame length ${declaredBytes} exceeds the limit of ${maxBytes} bytes`);
  }
}

/** Frame a message: header, UTF-8 JSON, trailing NUL (counted in the length, as IBM's reader expects). */
export function encodeFrame(message: JsonObject | string): Buffer {
  const json = typeof message === 'string' ? message : JSON.stringify(message);
  const bodyBytes = Buffer.byteLength(json, 'utf8') + 1;
  if (bodyBytes > 0xffffffff) throw new RangeError(`frame body of ${bodyBytes} bytes does not fit a 32-bit length`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  frame.writeUInt32BE(bodyBytes, 0);
  frame.write(json, FRAME_HEADER_BYTES, 'utf8');
  frame[frame.length - 1] = 0;
  return frame;
}

/**
 * Streaming frame parser. Memory held is the bytes received for the frame in
 * progress, never more than header + limit + one socket chunk: the body is
 * kept as the received chunks and joined once, when complete.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Body length of the frame in progress, or -1 while its header is incomplete. */
  private expected = -1;

  constructor(readonly maxBytes: number = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes received that are not yet part of an emitted frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /**
   * Feed one chunk; calls onFrame with each complete payload (trailing NUL
   * removed), and onHeader with each frame's declared length once it is known
   * and within the limit, before its body is kept.
   */
  push(chunk: Buffer, onFrame: (payload: Buffer) => void, onHeader?: (declaredBytes: number) => void): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) return;
        const declared = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (declared > this.maxBytes) {
          this.reset();
          throw new FrameTooLargeError(declared, this.maxBytes);
        }
        this.expected = declared;
        onHeader?.(declared);
      }
      if (this.buffered < this.expected) return;
      const body = this.take(this.expected);
      this.expected = -1;
      onFrame(stripTrailingNul(body));
    }
  }

  reset(): void {
    this.chunks = [];
    this.buffered = 0;
    this.expected = -1;
  }

  private take(n: number): Buffer {
    const head = this.chunks[0];
    if (head !== undefined && head.length >= n) {
      const out = head.subarray(0, n);
      if (head.length === n) this.chunks.shift();
      else this.chunks[0] = head.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0;
    while (filled < n) {
      const c = this.chunks[used];
      const part = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, part);
      filled += part;
      if (part === c.length) used++;
      else this.chunks[used] = c.subarray(part);
    }
    this.chunks.splice(0, used);
    this.buffered -= n;
    return out;
  }
}

function stripTrailingNul(body: Buffer): Buffer {
  return body.length > 0 && body[body.length - 1] === 0 ? body.subarray(0, body.length - 1) : body;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Payload bytes to a JSON object; anything else (bad UTF-8, bad JSON, array, scalar) is BAD_JSON. */
export function decodePayload(payload: Uint8Array): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(payload));
  } catch (err) {
    throw new AcsError(ACS_ERROR.BAD_JSON, 'frame payload is not valid UTF-8 JSON', { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AcsError(ACS_ERROR.BAD_JSON, 'frame payload is not a JSON object');
  }
  return value as JsonObject;
}

/**
 * The JSON body of a frame assembled from parts, for requests too large to
 * build as one string (a quote with 100k IMA events): memory stays about the
 * size of the encoded body, with no intermediate object per event.
 */
export function frameParts(bodyParts: string[]): Buffer[] {
  const bodies = bodyParts.map((p) => Buffer.from(p, 'utf8'));
  const bodyBytes = bodies.reduce((n, b) => n + b.length, 0) + 1;
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(bodyBytes, 0);
  return [header, ...bodies, Buffer.from([0])];
}
