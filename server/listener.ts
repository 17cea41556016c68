/**
 * The TCP side of acs-server. IBM ACS clients open a connection, write one
 * request frame, read one response frame and close (PROTOCOL.md "Framing"),
 * so each connection here serves exactly one request: read a frame, validate
 * it, dispatch to the command's handler, answer, close.
 *
 * Limits (server/config.ts): frame size, a deadline for the whole request, an
 * idle timeout while reading, and a cap on open connections; connections over
 * the cap get an error frame instead of silence.
 */
import net from 'node:net';
import type { Logger } from '../shared/log.js';
import { ACS_ERROR, errorResponse, formatErrorCode } from '../shared/protocol/errors.js';
import { encodeFrame, type JsonObject } from '../shared/protocol/frame.js';
import type { Command, RequestMap, ResponseMap } from '../shared/protocol/messages.js';
import type { ListenerConfig } from './config.js';
import { Connection } from './connection.js';

export interface RequestContext {
  /** The client's IP address (the only identity the transport gives). */
  remoteAddress: string;
  remotePort: number;
  /** The request object as received, validated; for recording (e.g. the quote without events). */
  raw: JsonObject;
  /** Logger bound to this request's host, hostname and command. */
  log: Logger;
}

export type Handler<C extends Command> =
  (request: RequestMap[C], ctx: RequestContext) => ResponseMap[C] | Promise<ResponseMap[C]>;

/** A handler per command; a command without one is answered 90000026 like an unknown command. */
export type Handlers = { [C in Command]?: Handler<C> };

export interface ListenerOptions {
  /** Port (0 picks a free one, see Listener.port), address, limits; `verbose` also logs each frame, redacted. */
  config: ListenerConfig;
  handlers: Handlers;
  logger: Logger;
}

export interface Listener {
  /** The bound port (the actual one when 0 was asked for). */
  readonly port: number;
  readonly host: string;
  /** Connections currently being served. */
  readonly connections: number;
  /** Stop accepting; drop connections still waiting for a request, let running handlers answer. */
  close(): Promise<void>;
}

export interface ListenerEnv {
  handlers: Handlers;
  config: ListenerConfig;
  logger: Logger;
}

export async function startListener(opts: ListenerOptions): Promise<Listener> {
  const env: ListenerEnv = { handlers: opts.handlers, config: opts.config, logger: opts.logger };
  const active = new Set<Connection>();
  let refusing = 0;

  // allowHalfOpen: a client that shuts down its write side after the request still gets the response.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    if (active.size >= env.config.maxConnections) {
      refuse(socket);
      return;
    }
    const conn = new Connection(socket, env);
    active.add(conn);
    socket.once('close', () => active.delete(conn));
  });

  /**
   * Over the cap: answer 90000103 and close. The refusal lingers briefly so
   * the client can read it; refusals are themselves capped, beyond which
   * sockets are dropped outright.
   */
  function refuse(socket: net.Socket): void {
    const host = socket.remoteAddress ?? 'unknown';
    const outcome = formatErrorCode(ACS_ERROR.TOO_MANY_CONNECTIONS);
    socket.on('error', () => {});
    if (refusing >= env.config.maxConnections) {
      env.logger.warn({ host, outcome, dropped: true }, 'connection refused');
      socket.destroy();
      return;
    }
    refusing++;
    const frame = encodeFrame(errorResponse(ACS_ERROR.TOO_MANY_CONNECTIONS, 'server busy, retry later'));
    socket.resume();
    socket.end(frame);
    const timer = setTimeout(() => socket.destroy(), env.config.lingerMs);
    socket.once('close', () => {
      refusing--;
      clearTimeout(timer);
    });
    env.logger.warn({ host, outcome, bytesOut: frame.length, limit: env.config.maxConnections }, 'connection refused');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: env.config.port, host: env.config.host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => env.logger.error({ err }, 'listener error'));
  const address = server.address() as net.AddressInfo;
  env.logger.info({ host: address.address, port: address.port }, 'listening');

  return {
    port: address.port,
    host: address.address,
    get connections() {
      return active.size;
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const conn of active) conn.closeIfIdle();
    }),
  };
}
