/**
 * The client side of one ACS exchange as IBM ACS clients do it: connect,
 * write one request frame, read one response frame, close — over plain TCP,
 * or over TLS 1.3 with the server's CA pinned and its name checked. The frame codec is
 * shared/protocol/frame.ts; this file is its socket I/O.
 */
import net from 'node:net';
import tls from 'node:tls';
import { errorFromResponse } from '../shared/protocol/errors.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, decodePayload, encodeFrame, type JsonObject } from '../shared/protocol/frame.js';

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

/** TLS on the attestation socket: the server's certificate must chain to `ca` (when given, the only root trusted) and name the host dialled. */
export interface ExchangeTls {
  /** PEM of the CA that issued the server's certificate; default Node's public roots. */
  ca?: string | Buffer;
}

export interface ExchangeOptions {
  /** Connect timeout, TLS handshake included (default 10 s). */
  connectTimeoutMs?: number;
  /** Time allowed for the whole response to arrive after the request is sent (default 120 s). */
  readTimeoutMs?: number;
  /** Largest response frame accepted (default 16 MiB). */
  maxBytes?: number;
  /** Speak TLS 1.3 (RFC 8446) instead of plain TCP. */
  tls?: ExchangeTls;
}

/** The server's TLS identity was not accepted (untrusted chain, wrong name) or the handshake failed. */
export class ServerIdentityError extends ExchangeError {
  override name = 'ServerIdentityError';
}

/** An address literal is checked against the certificate's IP SANs; a name is also sent as SNI (RFC 6066 §3 forbids literals there). */
function tlsConnect(host: string, port: number, options: ExchangeTls): tls.TLSSocket {
  return tls.connect({
    host,
    port,
    ca: options.ca,
    servername: net.isIP(host) ? undefined : host,
    minVersion: 'TLSv1.3',
    rejectUnauthorized: true,
  });
}

function connect(host: string, port: number, timeoutMs: number, secure?: ExchangeTls): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = secure ? tlsConnect(host, port, secure) : net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ServerUnreachableError(`connect to ${host}:${port} timed out after ${timeoutMs} ms`, host, port));
    }, timeoutMs);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      // A failed TLS handshake may report more than one error; the first decides.
      socket.on('error', () => {});
      socket.destroy();
      const code = err.code ?? err.message;
      if (secure && (/^ERR_TLS_|^ERR_SSL_|CERT|SELF_SIGNED|UNABLE_TO_/.test(code))) {
        reject(new ServerIdentityError(`TLS with ${host}:${port} refused: ${code}: ${err.message}`, host, port, { cause: err }));
      } else {
        reject(new ServerUnreachableError(`cannot connect to ${host}:${port}: ${code}`, host, port, { cause: err }));
      }
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

/** exchange() for a frame already encoded, possibly in several buffers. */
export async function exchangeFrame(host: string, port: number, frame: Buffer[], opts: ExchangeOptions = {}): Promise<JsonObject> {
  const socket = await connect(host, port, opts.connectTimeoutMs ?? 10_000, opts.tls);
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
