/**
 * One accepted connection, serving one request:
 * reading -> queued -> handling -> done.
 * Reading is paced (request-pace.ts) and its memory accounted
 * (buffer-budget.ts); a whole request waits for a turn in the work queue
 * (work-queue.ts). Every connection ends in exactly one summary log line:
 * remote host, the hostname the request claims, command, outcome ("ok", the
 * error code, or "closed"), duration and bytes.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ACS_ERROR, AcsError, errorResponse, formatErrorCode } from '../shared/protocol/errors.js';
import { FrameDecoder, decodePayload, encodeFrame, type JsonObject } from '../shared/protocol/frame.js';
import { type Command, type RequestMap, type ResponseMap, parseRequest, requestCommand, serializeResponse } from '../shared/protocol/messages.js';
import { MAX_HOSTNAME_OCTETS } from '../shared/protocol/hostname.js';
import { sourceOf, type Admitted } from './admission.js';
import { SMALL_FRAME_BYTES, type Reservation } from './buffer-budget.js';
import type { Handler, ListenerEnv, RequestContext } from './listener.js';
import { RequestPace } from './request-pace.js';

type State = 'reading' | 'queued' | 'handling' | 'done';

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
  /** Milliseconds the request waited for buffer memory, when it had to. */
  memoryWaitMs?: number;
  request?: unknown;
  response?: unknown;
  err?: unknown;
}

export class Connection implements Admitted {
  readonly source: string;
  private state: State = 'reading';
  private readonly started = performance.now();
  private readonly decoder: FrameDecoder;
  private readonly pace: RequestPace;
  private reservation: Reservation | undefined;
  /** Request bytes this connection holds, counted in the listener's budget. */
  private heldBytes = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly summary: Summary;

  constructor(private readonly socket: net.Socket, private readonly env: ListenerEnv) {
    this.summary = { host: socket.remoteAddress ?? 'unknown', bytesIn: 0, bytesOut: 0 };
    this.source = sourceOf(this.summary.host);
    this.decoder = new FrameDecoder(env.config.maxFrameBytes);
    this.pace = new RequestPace(env.config, (reason) => this.timedOut(reason));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onPeerGone());
    socket.on('error', (err) => this.onPeerGone(err));
    socket.on('close', () => {
      this.pace.stop();
      clearTimeout(this.lingerTimer);
      this.env.table.remove(this);
      this.onPeerGone();
      this.releaseMemory();
    });
  }

  /** Until its request is whole, and again once answered, a connection may be closed to make room. */
  get evictable(): boolean {
    return this.state === 'reading' || this.state === 'done';
  }

  evict(reason: string): void {
    if (this.state === 'reading') this.abandon(reason);
    else this.socket.destroy();
  }

  /** For shutdown: a connection still waiting for its request is dropped; one queued or handled finishes. */
  closeIfIdle(): void {
    if (this.state === 'reading') this.abandon('shutdown');
  }

  private onData(chunk: Buffer): void {
    // After the request, further bytes are read and discarded so closing does not reset the connection.
    if (this.state !== 'reading') return;
    this.summary.bytesIn += chunk.length;
    this.heldBytes += chunk.length;
    this.env.budget.hold(chunk.length);
    this.pace.received(chunk.length);
    try {
      this.decoder.push(
        chunk,
        (payload) => {
          if (this.state === 'reading') this.enqueue(payload);
        },
        (declared) => this.reserve(declared),
      );
    } catch (err) {
      // FrameTooLargeError (90000001): answer and close without reading the body.
      this.stopReading();
      this.fail(err);
    }
  }

  /** A large frame's declared length is reserved before its body is kept; without room, reading pauses. */
  private reserve(declared: number): void {
    if (declared <= SMALL_FRAME_BYTES) return;
    const asked = performance.now();
    const { reservation, immediate } = this.env.budget.reserve(declared, () => {
      this.summary.memoryWaitMs = Math.round(performance.now() - asked);
      if (this.state !== 'reading') return;
      this.pace.resume();
      this.socket.resume();
    });
    this.reservation = reservation;
    if (!immediate) {
      this.socket.pause();
      this.pace.hold();
    }
  }

  private stopReading(): void {
    this.pace.stop();
    this.decoder.reset();
  }

  /** Gives back the request's bytes and reservation; idempotent. */
  private releaseMemory(): void {
    this.decoder.reset();
    this.reservation?.release();
    this.env.budget.hold(-this.heldBytes);
    this.heldBytes = 0;
  }

  private timedOut(reason: string): void {
    if (this.state !== 'reading') return;
    this.stopReading();
    const err = new AcsError(ACS_ERROR.FRAME_TIMEOUT, reason);
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
    this.releaseMemory();
    this.summary.outcome = 'closed';
    this.summary.reason = reason;
    this.log();
  }

  /** The request is whole: it waits for a turn, or is answered 90000103 when the queue is full too. */
  private enqueue(payload: Buffer): void {
    this.state = 'queued';
    this.stopReading();
    const queued = this.env.work.submit(async () => {
      if (this.socket.destroyed) {
        this.abandon('client gone while its request was queued');
        return;
      }
      this.state = 'handling';
      await this.handle(payload).catch((err: unknown) => this.fail(err));
    });
    if (!queued) this.fail(new AcsError(ACS_ERROR.TOO_MANY_CONNECTIONS, 'server busy, retry later'));
  }

  private async handle(payload: Buffer): Promise<void> {
    const obj = decodePayload(payload);
    if (this.env.config.verbose) this.summary.request = redactFrame(obj);
    if (typeof obj.hostname === 'string') this.summary.hostname = obj.hostname.slice(0, MAX_HOSTNAME_OCTETS + 1);
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
    this.releaseMemory();
    this.summary.outcome = error ? formatErrorCode(error.code) : 'ok';
    if (error) this.summary.reason = error.message;
    if (this.env.config.verbose) this.summary.response = redactFrame(response);
    if (!this.socket.destroyed && this.socket.writable) {
      const frame = encodeFrame(response);
      this.summary.bytesOut = frame.length;
      // A reader paused for memory must flow again, or the client's close would never be seen.
      this.socket.resume();
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
