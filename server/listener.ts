/**
 * The TCP side of acs-server. IBM ACS clients open a connection, write one
 * request frame, read one response frame and close (PROTOCOL.md "Framing"),
 * so each connection here serves exactly one request: read a frame, validate
 * it, dispatch to the command's handler, answer, close.
 *
 * Holding a connection is kept apart from doing work (DESIGN.md "Who may do
 * what"): many connections may be held (admission.ts bounds them per source
 * and in all, closing the oldest idle ones for newcomers), reading them is
 * paced (request-pace.ts) and its memory bounded (buffer-budget.ts), and only
 * complete requests take a turn in the bounded work queue (work-queue.ts),
 * whose overflow alone is answered 90000103.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../shared/log.js';
import type { JsonObject } from '../shared/protocol/frame.js';
import type { Command, RequestMap, ResponseMap } from '../shared/protocol/messages.js';
import type { ListenerConfig } from './config.js';
import { ConnectionTable } from './admission.js';
import { BufferBudget } from './buffer-budget.js';
import { Connection } from './connection.js';
import { WorkQueue } from './work-queue.js';

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
  /** Also serve the same frames over TLS 1.3 on `port`, with this certificate chain and key (PEM). */
  tls?: { port: number; cert: string | Buffer; key: string | Buffer };
}

export interface Listener {
  /** The bound port (the actual one when 0 was asked for). */
  readonly port: number;
  /** The bound TLS port, when TLS is served. */
  readonly tlsPort: number | undefined;
  readonly host: string;
  /** Connections currently held, idle ones included. */
  readonly connections: number;
  /** Whole requests being answered or waiting for a turn. */
  readonly requests: number;
  /** Request bytes held across all connections (now and peak) and reserved for large frames (now and peak). */
  readonly memory: { heldBytes: number; peakHeldBytes: number; reservedBytes: number; peakReservedBytes: number };
  /** Stop accepting; drop connections still waiting for a request, let queued and running requests be answered. */
  close(): Promise<void>;
}

export interface ListenerEnv {
  handlers: Handlers;
  config: ListenerConfig;
  logger: Logger;
  table: ConnectionTable<Connection>;
  budget: BufferBudget;
  work: WorkQueue;
}

export async function startListener(opts: ListenerOptions): Promise<Listener> {
  const { config } = opts;
  const env: ListenerEnv = {
    handlers: opts.handlers,
    config,
    logger: opts.logger,
    table: new ConnectionTable(config.maxConnections, config.maxConnectionsPerSource),
    budget: new BufferBudget(config.maxBufferedBytes),
    work: new WorkQueue(config.maxRequests, config.maxQueuedRequests),
  };

  // Plain TCP and TLS connections share one table, budget and work queue.
  const accept = (socket: net.Socket): void => {
    socket.on('error', () => {});
    const conn = new Connection(socket, env);
    if (!env.table.admit(conn)) conn.evict(`no room: every connection held from ${conn.source} has a request in progress`);
  };
  // allowHalfOpen: a client that shuts down its write side after the request still gets the response.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, accept);
  const address = await listen(server, config.port, config.host, env.logger);
  const servers: net.Server[] = [server];
  let tlsPort: number | undefined;
  if (opts.tls) {
    // TLS 1.3 only (RFC 8446). A handshake must finish within the first-byte deadline; the connection is held (and counted) from then on.
    // Not half-open: a client that gives up during the handshake (it refused our certificate) must end the socket here too.
    const secure = tls.createServer({
      noDelay: true,
      cert: opts.tls.cert,
      key: opts.tls.key,
      minVersion: 'TLSv1.3',
      handshakeTimeout: config.firstByteTimeoutMs,
    }, accept);
    // A failed handshake is the connection's one log line; the socket goes at once.
    secure.on('tlsClientError', (err: NodeJS.ErrnoException, socket) => {
      socket.destroy();
      env.logger.warn({ host: socket.remoteAddress, outcome: 'closed', reason: `TLS handshake failed: ${err.code ?? err.message}` }, 'request');
    });
    tlsPort = (await listen(secure, opts.tls.port, config.host, env.logger, 'tls')).port;
    servers.push(secure);
  }

  return {
    port: address.port,
    tlsPort,
    host: address.address,
    get connections() {
      return env.table.size;
    },
    get requests() {
      return env.work.size;
    },
    get memory() {
      const b = env.budget;
      return { heldBytes: b.heldBytes, peakHeldBytes: b.peakHeldBytes, reservedBytes: b.reservedBytes, peakReservedBytes: b.peakReservedBytes };
    },
    async close() {
      const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const conn of [...env.table.connections()]) conn.closeIfIdle();
      await Promise.all(closed);
    },
  };
}

async function listen(server: net.Server, port: number, host: string, logger: Logger, protocol: 'tcp' | 'tls' = 'tcp'): Promise<net.AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err, protocol }, 'listener error'));
  const address = server.address() as net.AddressInfo;
  logger.info({ host: address.address, port: address.port, protocol }, 'listening');
  return address;
}
