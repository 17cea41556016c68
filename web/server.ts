/**
 * The forensics web UI and JSON API over node:http or node:https. Every
 * request passes, in order: the Host check (DNS rebinding), authentication
 * (login session, API token, trusted proxy, or login turned off on
 * loopback), the route's role, and for a state-changing method the origin
 * and CSRF checks. Pages are server-rendered with no scripts at all, under a
 * Content-Security-Policy that would refuse any that slipped in.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AuthStore } from '../db/auth-store.js';
import type { SqlDriver } from '../db/driver.js';
import { QueryInputError } from '../db/queries.js';
import { StoreError } from '../db/store.js';
import { webQueries, type WebQueries } from '../db/web-queries.js';
import { OutboxSql } from '../db/alert-outbox.js';
import { PolicySql } from '../db/policy-store.js';
import type { Logger } from '../shared/log.js';
import { HostCheck } from './auth/host-check.js';
import { CSRF_FIELD, LOGIN_PATH, LOGOUT_PATH, loginRoute, loginUrl, logoutRoute, redirect } from './auth/login-pages.js';
import { fromSameOrigin } from './auth/same-origin.js';
import { authModeProblem, isLoopback, WebAuth, WebAuthConfigError, type Principal, type WebAuthOptions } from './auth/web-auth.js';
import { htmlResponse, jsonResponse, type WebContext, type WebResponse } from './context.js';
import { readForm } from './form-body.js';
import { html } from './html.js';
import { page } from './layout.js';
import { HttpError, Params } from './params.js';
import { QueryCounter } from './query-count.js';
import { matchRoute } from './routes.js';

export interface WebServerOptions {
  /** The database to read and keep accounts in (a store's driver); its statements are counted per request. */
  driver?: SqlDriver;
  /** Or ready-made queries (statements are then not counted). */
  queries?: WebQueries;
  /** TCP port; 0 picks a free one (the CLI treats 0 as "disabled" before calling this). */
  port: number;
  /** Address to listen on; the defaults of this and every other option are in server/config.ts. */
  host: string;
  /** Login, host names, proxy single sign-on; default: login required (needs `driver`). */
  auth?: WebAuthOptions;
  /** Serve HTTPS with this certificate chain and key (PEM); session cookies are then Secure. */
  tls?: { cert: string | Buffer; key: string | Buffer };
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
  /** Who asked ("token:NAME" for API tokens); null when unauthenticated. */
  user: string | null;
  /** SQL statements the request issued. */
  statements: number;
  ms: number;
}

export interface WebServer {
  port: number;
  host: string;
  /** "http://host:port" or "https://host:port" */
  url: string;
  /** Stops listening and drops open connections; the store stays open. */
  close(): Promise<void>;
}

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` even with a same-origin form
  // (Fetch standard, "serializing a request origin"), and the origin check could not tell our forms from others.
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const TITLES: Record<number, string> = {
  400: 'Bad request', 401: 'Login required', 403: 'Forbidden', 404: 'Not found', 405: 'Method not allowed', 413: 'Too large',
  415: 'Unsupported form', 421: 'Unknown host name',
};

function errorResponse(api: boolean, status: number, message: string, param?: string): WebResponse {
  if (api) return jsonResponse({ error: { status, message, ...(param ? { param } : {}) } }, status);
  const title = TITLES[status] ?? 'Server error';
  return htmlResponse(page({ title, crumbs: [{ label: title }], body: html`<p id="error">${message}</p>` }), status);
}


function methodNotAllowed(api: boolean, methods: readonly string[]): WebResponse {
  const allow = ['GET', 'HEAD', ...methods].join(', ');
  return { ...errorResponse(api, 405, `only ${allow} are served here`), headers: { Allow: allow } };
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const counter = new QueryCounter();
  let data: WebQueries;
  const counted = opts.driver ? counter.wrap(opts.driver) : undefined;
  if (counted) data = webQueries(counted);
  else if (opts.queries) data = opts.queries;
  else throw new TypeError('startWebServer needs a driver or queries');
  const accounts = opts.driver ? new AuthStore(opts.driver) : undefined;
  const admin = counted ? { policies: new PolicySql(counted), outbox: new OutboxSql(counted) } : {};
  const ctx: WebContext = { data, accounts, ...admin, logger: opts.logger, staleAfterMs: opts.staleAfterMs, now: opts.now ?? (() => new Date()) };
  const host = opts.host;
  const log = opts.logger;
  const refused = authModeProblem(opts.auth?.mode, host);
  if (refused) throw new WebAuthConfigError(refused);
  const auth = new WebAuth(accounts, opts.auth ?? {}, !!opts.tls, log);
  if (auth.mode === 'off') log?.warn({ host }, 'web: login is turned off (--web-auth off); every local request acts as admin');
  if (!opts.tls && !isLoopback(host)) log?.warn({ host }, 'web: plain HTTP on a network address; passwords and sessions cross the network readable (use --web-tls-cert/--web-tls-key or a TLS proxy)');
  // Built again once the port is known (port 0 picks one); this first one refuses a malformed public name before listening.
  let hosts = new HostCheck({ listenHost: host, port: opts.port, publicNames: opts.auth?.publicNames });

  async function respond(req: IncomingMessage, who: { principal: Principal | null }): Promise<WebResponse> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const api = url.pathname === '/api' || url.pathname.startsWith('/api/');
    try {
      if (!hosts.allows(req.headers.host)) return errorResponse(api, 421, 'this server does not answer to that host name (an operator adds names with --web-public-name)');
      const method = req.method ?? '';
      const reading = method === 'GET' || method === 'HEAD';
      if (!reading && !fromSameOrigin(req)) return errorResponse(api, 403, 'a form from another site may not change anything here');
      const query = new Params(url.searchParams);
      if (url.pathname === LOGIN_PATH) {
        if (!reading && method !== 'POST') return methodNotAllowed(api, ['POST']);
        return await loginRoute(req, query, reading ? null : await readForm(req), auth);
      }
      if (url.pathname === LOGOUT_PATH) {
        if (method !== 'POST') return methodNotAllowed(api, ['POST']);
        return await logoutRoute(req, auth);
      }
      const match = matchRoute(url.pathname);
      const access = match?.access ?? {};
      const principal = access.public ? null : await auth.identify(req, api);
      who.principal = principal ?? null;
      if (!access.public && !principal) {
        if (api) return { ...errorResponse(true, 401, 'log in or send an API token (Authorization: Bearer)'), headers: { 'WWW-Authenticate': 'Bearer realm="acs"' } };
        return redirect(loginUrl(reading ? `${url.pathname}${url.search}` : '/'));
      }
      if (!match) return errorResponse(api, 404, 'no such page');
      if (!reading && !access.methods?.includes(method as 'POST')) return methodNotAllowed(api, access.methods ?? []);
      if ((access.admin || !reading) && principal && principal.role !== 'admin') return errorResponse(api, 403, 'this needs the admin role');
      let form: Params | null = null;
      if (!reading) {
        form = await readForm(req);
        const supplied = form.string(CSRF_FIELD) ?? (req.headers['x-csrf-token'] as string | undefined);
        if (principal && !auth.csrfValid(principal, supplied)) return errorResponse(api, 403, 'the form is stale or was not sent from this site; reload it');
      }
      return await match.handler({ ctx, method, principal: principal ?? null, form, params: match.params, query });
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
    const who: { principal: Principal | null } = { principal: null };
    const { result, statements } = await counter.measure(() => respond(req, who));
    const body = Buffer.from(result.body, 'utf8');
    res.writeHead(result.status, {
      ...SECURITY_HEADERS,
      'Content-Type': result.contentType,
      'Content-Length': String(body.length),
      ...result.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    const info: RequestInfo = {
      method: req.method ?? '', url: req.url ?? '', status: result.status, user: who.principal?.name ?? null, statements, ms: performance.now() - started,
    };
    log?.debug(info, 'web request');
    opts.onRequest?.(info);
  }

  const serverOptions = { requestTimeout: 30_000, headersTimeout: 10_000 };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e) => {
      log?.error({ err: e }, 'web: response failed');
      res.destroy();
    });
  };
  const server = opts.tls
    ? createHttpsServer({ ...serverOptions, cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' }, onRequest)
    : createHttpServer(serverOptions, onRequest);
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
  hosts = new HostCheck({ listenHost: host, port, publicNames: opts.auth?.publicNames });
  const shown = host.includes(':') ? `[${host}]` : host;
  const scheme = opts.tls ? 'https' : 'http';
  log?.info({ host, port, scheme, auth: auth.mode }, 'web UI listening');
  return {
    port,
    host,
    url: `${scheme}://${shown}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
