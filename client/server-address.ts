import type { ExchangeTls } from './exchange.js';

/** Where acs-server is: plain TCP, or TLS when `tls` is set. */
export interface ServerEndpoint {
  host: string;
  port: number;
  tls?: ExchangeTls;
}

/** HOST[:PORT] or [IPv6]:PORT; the port defaults to IBM ACS's 2323 (env ACS_PORT). */
export function parseServerAddress(text: string, env: NodeJS.ProcessEnv = process.env): { host: string; port: number } {
  const defaultPort = Number(env.ACS_PORT ?? 2323);
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const m = v6 ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new Error(`bad server address "${text}": expected HOST[:PORT]`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port in "${text}"`);
  return { host: m[1], port };
}
