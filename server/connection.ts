/**
 * One accepted connection, serving one request: reading -> handling -> done.
 * Every connection ends in exactly one summary log line: remote host, the
 * hostname the request claims, command, outcome ("ok" or the error code),
 * duration and bytes.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ACS_ERROR, AcsError, errorResponse, formatErrorCode } from '../shared/protocol/errors.js';
import { FrameDecoder, decodePayload, encodeFrame, type JsonObject } from '../shared/protocol/frame.js';
import { type Command, type RequestMap, type ResponseMap, parseRequest, requestCommand, serializeResponse } from '../shared/protocol/messages.js';
import { MAX_HOSTNAME_LENGTH } from '../shared/protocol/fields.js';
import type { Handler, ListenerEnv, RequestContext } from './listener.js';

type State = 'reading' | 'handling' | 'done';

/** Members never written to a log, whatever their nesting. */
const SECRET_KEY = /^(cakey|privatekey|password)$/i;

/** Copy of a frame object for verbose logs, secrets replaced. */
export function redactFrame(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth > 4) return '[nested]';
  if (Array.isArray(value)) return value.map((v) => redactFrame(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redactFrame(v, depth + 1);
  return out;
}

interface Summary {
  host: string;
  hostname?: string;
  command?: string;
  outcome?: string;
  reason?: string;
  durationMs?: number;
  bytesIn: number;
  bytesOut: number;
  request?: unknown;
  response?: unknown;
  err?: unknown;
}

export class Connection {
  private state: State = 'reading';
  private readonly started = performance.now();
  private readonly decoder: FrameDecoder;
  private readonly readTimer: NodeJS.Timeout;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly summary: Summary;

  constructor(private readonly socket: net.Socket, private readonly env: ListenerEnv) {
    this.summary = { host: socket.remoteAddress ?? 'unknown', bytesIn: 0, bytesOut: 0 };
    this.decoder = new FrameDecoder(env.config.maxFrameBytes);
    this.readTimer = setTimeout(() => this.timedOut('read', env.config.readTimeoutMs), env.config.readTimeoutMs);
    socket.setTimeout(env.config.idleTimeoutMs);
    socket.on('timeout', () => this.timedOut('idle', env.config.idleTimeoutMs));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onPeerGone());
    socket.on('error', (err) => this.onPeerGone(err));
    socket.on('close', () => {
      clearTimeout(this.readTimer);
      clearTimeout(this.lingerTimer);
      this.onPeerGone();
    });
  }

  /** For shutdown: a connection still waiting for its request is dropped; one being handled finishes. */
  closeIfIdle(): void {
    if (this.state === 'reading') this.abandon('shutdown');
  }

  private onData(chunk: Buffer): void {
    // After the request, further bytes are read and discarded so closing does not reset the connection.
    if (this.state !== 'reading') return;
    this.summary.bytesIn += chunk.length;
    try {
      this.decoder.push(chunk, (payload) => {
        if (this.state === 'reading') this.startHandling(payload);
      });
    } catch (err) {
      // FrameTooLargeError (90000001): answer and close without reading the body.
      this.stopReading();
      this.fail(err);
    }
  }

  private stopReading(): void {
    clearTimeout(this.readTimer);
    this.socket.setTimeout(0);
    this.decoder.reset();
  }

  private timedOut(which: 'read' | 'idle', ms: number): void {
    if (this.state !== 'reading') return;
    this.stopReading();
    const what = which === 'read' ? 'request not complete' : 'no data';
    const err = new AcsError(ACS_ERROR.FRAME_TIMEOUT, `${what} within ${ms} ms`);
    this.reply(errorResponse(err.code, err.message), err);
  }

  /** Peer closed, reset or errored: if no request was read yet, this ends the connection's story. */
  private onPeerGone(err?: Error): void {
    if (this.state === 'reading') this.abandon(err ? `connection error: ${(err as NodeJS.ErrnoException).code ?? err.message}` : 'closed before a complete request');
    else if (this.state === 'done' && err) this.socket.destroy();
  }

  private abandon(reason: string): void {
    this.state = 'done';
    this.stopReading();
    this.socket.destroy();
    this.summary.outcome = 'closed';
    this.summary.reason = reason;
    this.log();
  }

  private startHandling(payload: Buffer): void {
    this.state = 'handling';
    this.stopReading();
    this.handle(payload).catch((err: unknown) => this.fail(err));
  }

  private async handle(payload: Buffer): Promise<void> {
    const obj = decodePayload(payload);
    if (this.env.config.verbose) this.summary.request = redactFrame(obj);
    if (typeof obj.hostname === 'string') this.summary.hostname = obj.hostname.slice(0, MAX_HOSTNAME_LENGTH);
    const command = requestCommand(obj);
    this.summary.command = command;
    const handler = this.env.handlers[command] as Handler<Command> | undefined;
    if (handler === undefined) throw new AcsError(ACS_ERROR.UNKNOWN_CMD, `command "${command}" is not served here`);
    const request = parseRequest(obj, this.env.config) as RequestMap[Command];
    const ctx: RequestContext = {
      remoteAddress: this.summary.host,
      remotePort: this.socket.remotePort ?? 0,
      raw: obj,
      log: this.env.logger.child({ host: this.summary.host, hostname: this.summary.hostname, command }),
    };
    const response = await handler(request, ctx);
    this.reply(serializeResponse(command, response as ResponseMap[Command]));
  }

  /**
   * Request refused: AcsErrors carry their code and message; anything else
   * is an internal error, not described to the client. A server-side code
   * (8xxxxxxx, e.g. the database is unreachable) keeps its cause in the log
   * line, where the operator needs it and the client does not.
   */
  private fail(err: unknown): void {
    if (err instanceof AcsError) {
      if (!err.clientFault && err.cause !== undefined) this.summary.err = err.cause;
      this.reply(errorResponse(err.code, err.message), err);
    } else {
      this.summary.err = err;
      this.reply(errorResponse(ACS_ERROR.NO_RESPONSE, 'internal server error'), new AcsError(ACS_ERROR.NO_RESPONSE));
    }
  }

  /** Write the one response frame, half-close, and give the client lingerMs to close its side. */
  private reply(response: JsonObject, error?: AcsError): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.summary.outcome = error ? formatErrorCode(error.code) : 'ok';
    if (error) this.summary.reason = error.message;
    if (this.env.config.verbose) this.summary.response = redactFrame(response);
    if (!this.socket.destroyed && this.socket.writable) {
      const frame = encodeFrame(response);
      this.summary.bytesOut = frame.length;
      this.socket.end(frame);
      this.lingerTimer = setTimeout(() => this.socket.destroy(), this.env.config.lingerMs);
    } else {
      this.summary.reason = `${this.summary.reason ?? 'response'} not sent: client gone`;
    }
    this.log();
  }

  private log(): void {
    this.summary.durationMs = Math.round((performance.now() - this.started) * 10) / 10;
    const { outcome } = this.summary;
    const fields = Object.fromEntries(Object.entries(this.summary).filter(([, v]) => v !== undefined));
    if (outcome === 'ok') this.env.logger.info(fields, 'request');
    else if (outcome !== undefined && outcome.startsWith('8')) this.env.logger.error(fields, 'request');
    else this.env.logger.warn(fields, 'request');
  }
}
