/**
 * acs-server configuration: every tunable with its default in one place.
 * DESIGN.md "Errors and bad input": idle and slow connections time out and
 * the number of open connections is bounded.
 */
import { DEFAULT_MAX_FRAME_BYTES } from '../shared/protocol/frame.js';
import { DEFAULT_EVENT_LIMITS, type EventLimits } from '../shared/protocol/messages.js';

export interface ListenerLimits {
  /** Largest request frame; a longer declared length is answered 90000001 and closed. Default 16 MiB (IBM: 100 MB). */
  maxFrameBytes: number;
  /** Time from accept until the whole request frame has arrived. Default 60 s. */
  readTimeoutMs: number;
  /** Longest silence while waiting for request bytes. Default 15 s. */
  idleTimeoutMs: number;
  /** Connections served at once; more are answered 90000103 and closed. Default 64. */
  maxConnections: number;
  /** After the response, how long to wait for the client to close before dropping it. Default 2 s. */
  lingerMs: number;
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  readTimeoutMs: 60_000,
  idleTimeoutMs: 15_000,
  maxConnections: 64,
  lingerMs: 2_000,
};

export interface ServerConfig {
  /** Listen address. Default all interfaces. */
  host: string;
  /** TCP port. Default 2323, IBM ACS's. */
  port: number;
  limits: ListenerLimits;
  /** Caps on the events one quote may carry (shared/protocol/quote.ts). */
  events: EventLimits;
  /** Log every request and response frame (redacted), not only the summary line. */
  verbose: boolean;
}

export const DEFAULT_SERVER_CONFIG: ServerConfig = {
  host: '0.0.0.0',
  port: 2323,
  limits: DEFAULT_LISTENER_LIMITS,
  events: DEFAULT_EVENT_LIMITS,
  verbose: false,
};

export interface ServerConfigInput {
  host?: string;
  port?: number;
  limits?: Partial<ListenerLimits>;
  events?: Partial<EventLimits>;
  verbose?: boolean;
}

/** The defaults overlaid with what is given; every limit must be a positive integer. */
export function resolveServerConfig(input: ServerConfigInput = {}): ServerConfig {
  const config: ServerConfig = {
    host: input.host ?? DEFAULT_SERVER_CONFIG.host,
    port: input.port ?? DEFAULT_SERVER_CONFIG.port,
    limits: { ...DEFAULT_LISTENER_LIMITS, ...input.limits },
    events: { ...DEFAULT_EVENT_LIMITS, ...input.events },
    verbose: input.verbose ?? DEFAULT_SERVER_CONFIG.verbose,
  };
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw new RangeError(`port ${config.port} is not a TCP port`);
  }
  for (const [name, value] of Object.entries({ ...config.limits, ...config.events })) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`limit ${name} must be a positive integer, got ${value}`);
  }
  return config;
}
