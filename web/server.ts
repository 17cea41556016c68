/**
 * The forensics web UI and JSON API over node:http. Read-only: GET and HEAD
 * only, every page server-rendered, no scripts at all, and a Content-Security-
 * Policy that would refuse any that slipped in.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueryInputError } from '../db/queries.js';
import { StoreError, type Store } from '../db/store.js';
import { storeDriver, webQueries, type WebQueries } from '../db/web-queries.js';
import type { Logger } from '../shared/log.js';
import { htmlResponse, jsonResponse, type WebContext, type WebResponse } from './context.js';
import { html } from './html.js';
import { page } from './layout.js';
import { HttpError, Params } from './params.js';
import { QueryCounter } from './query-count.js';
import { matchRoute } from './routes.js';

export interface WebServerOptions {
  /** The store to read (from openStore); its statements are counted per request. */
  store?: Store;
  /** Or ready-made queries (statements are then not counted). */
  queries?: WebQueries;
  /** TCP port; 0 picks a free one (the CLI treats 0 as "disabled" before calling this). */
  port: number;
  /** Address to listen on; the defaults of this and every other option are in server/config.ts. */
  host: string;
  /** Time without attestation before a machine counts as stale. */
  staleAfterMs: number;
  logger?: Logger;
  /** The clock, for tests. */
  now?: () => Date;
  /** Called after every request, e.g. for metrics; tests read `statements` from it. */
  onRequest?: (info: RequestInfo) => void;
}

export interface RequestInfo {
  method: string;
  /** Path and query as requested. */
  url: string;
  status: number;
  /** SQL statements the request issued. */
  statements: number;
  ms: number;
}

export interface WebServer {
  port: number;
  host: string;
  /** "http://host:port" */
  url: string;
  /** Stops listening and drops open connections; the store stays open. */
  close(): Promise<void>;
}

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

function errorResponse(api: boolean, status: number, message: string, param?: string): WebResponse {
  if (api) return jsonResponse({ error: { status, message, ...(param ? { param } : {}) } }, status);
  const title = status === 404 ? 'Not found' : status === 400 ? 'Bad request' : status === 405 ? 'Method not allowed' : 'Server error';
  return htmlResponse(page({ title, crumbs: [{ label: title }], body: html`<p id="error">${message}</p>` }), status);
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const counter = new QueryCounter();
  let data: WebQueries;
  if (opts.store) data = webQueries(counter.wrap(storeDriver(opts.store)));
  else if (opts.queries) data = opts.queries;
  else throw new TypeError('startWebServer needs a store or queries');
  const ctx: WebContext = { data, staleAfterMs: opts.staleAfterMs, now: opts.now ?? (() => new Date()) };
  const host = opts.host;
  const log = opts.logger;

  async function respond(req: IncomingMessage): Promise<WebResponse> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const api = url.pathname === '/api' || url.pathname.startsWith('/api/');
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return { ...errorResponse(api, 405, 'only GET and HEAD are served'), headers: { Allow: 'GET, HEAD' } };
      }
      const match = matchRoute(url.pathname);
      if (!match) return errorResponse(api, 404, 'no such page');
      return await match.handler({ ctx, params: match.params, query: new Params(url.searchParams) });
    } catch (e) {
      if (e instanceof HttpError) return errorResponse(api, e.status, e.message, (e as { param?: string }).param);
      if (e instanceof QueryInputError) return errorResponse(api, 400, e.message, e.field);
      if (e instanceof StoreError) {
        log?.error({ err: e, url: req.url }, 'web: database error');
        return errorResponse(api, 503, 'the database is not answering; try again');
      }
      log?.error({ err: e, url: req.url }, 'web: request failed');
      return errorResponse(api, 500, 'internal error');
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const { result, statements } = await counter.measure(() => respond(req));
    const body = Buffer.from(result.body, 'utf8');
    res.writeHead(result.status, {
      ...SECURITY_HEADERS,
      'Content-Type': result.contentType,
      'Content-Length': String(body.length),
      ...result.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    const info: RequestInfo = { method: req.method ?? '', url: req.url ?? '', status: result.status, statements, ms: performance.now() - started };
    log?.debug(info, 'web request');
    opts.onRequest?.(info);
  }

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch((e) => {
      log?.error({ err: e }, 'web: response failed');
      res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log?.error({ err: e }, 'web: server error'));
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  log?.info({ host, port }, 'web UI listening');
  return {
    port,
    host,
    url: `http://${shown}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
