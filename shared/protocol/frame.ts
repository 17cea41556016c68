/**
 * ACS framing: a 4-byte big-endian length, then that many bytes of UTF-8
 * JSON. IBM ACS appends a NUL and counts it in the length; we send it too and
 * accept payloads with or without it (PROTOCOL.md "Framing").
 *
 * FrameDecoder cuts frames out of socket chunks the way node-postgres'
 * pg-protocol parser does; `exchange` is the whole client side of one
 * request (connect, write one frame, read one frame, close).
 */
import net from 'node:net';
import { ACS_ERROR, AcsError, errorFromResponse } from './errors.js';

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

/** Base of the errors the client side of an exchange raises for transport failures. */
export class ExchangeError extends Error {
  override name = 'ExchangeError';
  constructor(message: string, readonly host: string, readonly port: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The server could not be reached (refused, unresolvable, unroutable, or connect timeout). */
export class ServerUnreachableError extends ExchangeError {
  override name = 'ServerUnreachableError';
}

/** Connected, but no complete response frame arrived within the read timeout. */
export class ResponseTimeoutError extends ExchangeError {
  override name = 'ResponseTimeoutError';
  constructor(host: string, port: number, readonly timeoutMs: number) {
    super(`no response from ${host}:${port} within ${timeoutMs} ms`, host, port);
  }
}

/** The peer closed or reset the connection before a complete frame arrived. */
export class ConnectionClosedError extends ExchangeError {
  override name = 'ConnectionClosedError';
  constructor(host: string, port: number, readonly bytesReceived: number, options?: { cause?: unknown }) {
    super(`connection to ${host}:${port} closed after ${bytesReceived} bytes, before a complete frame`, host, port, options);
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

export interface ReadFrameOptions {
  maxBytes?: number;
  timeoutMs?: number;
}

/**
 * Read exactly one frame from a connected socket. Rejects with
 * FrameTooLargeError, ResponseTimeoutError or ConnectionClosedError.
 */
export function readOneFrame(socket: net.Socket, opts: ReadFrameOptions = {}): Promise<Buffer> {
  const decoder = new FrameDecoder(opts.maxBytes ?? DEFAULT_MAX_FRAME_BYTES);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const host = socket.remoteAddress ?? 'server';
  const port = socket.remotePort ?? 0;
  let received = 0;
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, payload?: Buffer): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      if (err) reject(err);
      else resolve(payload!);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      try {
        decoder.push(chunk, (payload) => done(null, payload));
      } catch (err) {
        done(err as Error);
      }
    };
    const onEnd = (): void => done(new ConnectionClosedError(host, port, received));
    const onError = (err: Error): void => done(new ConnectionClosedError(host, port, received, { cause: err }));
    const timer = setTimeout(() => done(new ResponseTimeoutError(host, port, timeoutMs)), timeoutMs);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
  });
}

export interface ExchangeOptions {
  /** Connect timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** Time allowed for the whole response to arrive after the request is sent (default 120 s). */
  readTimeoutMs?: number;
  /** Largest response frame accepted (default 16 MiB). */
  maxBytes?: number;
}

function connect(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ServerUnreachableError(`connect to ${host}:${port} timed out after ${timeoutMs} ms`, host, port));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ServerUnreachableError(`cannot connect to ${host}:${port}: ${err.code ?? err.message}`, host, port, { cause: err }));
    };
    socket.once('error', onError);
  });
}

/**
 * One request/response exchange as IBM ACS clients do it. Resolves with the
 * response object; an `{"error":...}` response rejects with its AcsError.
 */
export async function exchange(host: string, port: number, request: JsonObject, opts: ExchangeOptions = {}): Promise<JsonObject> {
  return exchangeFrame(host, port, [encodeFrame(request)], opts);
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

/** exchange() for a frame already encoded, possibly in several buffers. */
export async function exchangeFrame(host: string, port: number, frame: Buffer[], opts: ExchangeOptions = {}): Promise<JsonObject> {
  const socket = await connect(host, port, opts.connectTimeoutMs ?? 10_000);
  // Errors after the response is read (a reset while closing) must not become uncaught.
  socket.on('error', () => {});
  try {
    const reading = readOneFrame(socket, { maxBytes: opts.maxBytes, timeoutMs: opts.readTimeoutMs ?? 120_000 });
    for (const part of frame) socket.write(part);
    const response = decodePayload(await reading);
    const refused = errorFromResponse(response);
    if (refused) throw refused;
    return response;
  } finally {
    socket.destroy();
  }
}
