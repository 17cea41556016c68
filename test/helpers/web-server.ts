/**
 * A web server over a seeded store for tests, with every request's statement
 * count recorded, and a small HTTP client for it. Login is on, as in
 * production: the helper adds an admin user, logs in through `POST /login`
 * like a browser, and sends that session cookie with every `get`.
 */
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { authStore } from '../../db/auth-store.js';
import type { SqlStore } from '../../db/sql-store.js';
import type { Logger } from '../../shared/log.js';
import { hashPassword } from '../../web/auth/password.js';
import type { WebAuthOptions } from '../../web/auth/web-auth.js';
import { startWebServer, type RequestInfo, type WebServer } from '../../web/server.js';
import { DEFAULT_SERVER_CONFIG } from '../../server/config.js';

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed body when it is JSON. */
  json: any;
}

export interface Credentials {
  name: string;
  password: string;
}

export interface TestWeb {
  server: WebServer;
  url: string;
  requests: RequestInfo[];
  /** The logged-in admin (undefined with login turned off). */
  user: Credentials | undefined;
  /** "acs_session=…" of that login. */
  cookie: string;
  /** GET with the session cookie. */
  get(path: string): Promise<HttpResult>;
  /** Any request, with only the headers given (no cookie unless passed). */
  request(path: string, init?: RequestInit): Promise<HttpResult>;
  /** Statements issued by the last request for `path`. */
  statementsFor(path: string): number;
}

/** Adds a user with a random password. */
export async function addTestUser(store: SqlStore, name: string, role: 'viewer' | 'admin'): Promise<Credentials> {
  const password = randomBytes(12).toString('base64url');
  await authStore(store.driver).addUser(name, role, await hashPassword(password));
  return { name, password };
}

async function result(res: Response): Promise<HttpResult> {
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').startsWith('application/json') ? JSON.parse(text) : undefined;
  return { status: res.status, headers: res.headers, text, json };
}

/** Logs in through the form and returns the session cookie ("acs_session=…"). */
export async function logIn(url: string, user: Credentials): Promise<string> {
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ user: user.name, password: user.password }),
  });
  const cookie = res.headers.get('set-cookie');
  if (res.status !== 303 || !cookie) throw new Error(`login as ${user.name} failed: ${res.status}`);
  return cookie.split(';')[0]!;
}

export async function startTestWeb(
  t: Test,
  store: SqlStore,
  opts: { now?: Date; staleAfterMs?: number; auth?: WebAuthOptions; logger?: Logger } = {},
): Promise<TestWeb> {
  const requests: RequestInfo[] = [];
  const server = await startWebServer({
    driver: store.driver,
    port: 0,
    host: DEFAULT_SERVER_CONFIG.webHost,
    staleAfterMs: opts.staleAfterMs ?? DEFAULT_SERVER_CONFIG.staleAfterMs,
    auth: opts.auth,
    logger: opts.logger,
    now: opts.now ? () => opts.now! : undefined,
    onRequest: (info) => requests.push(info),
  });
  t.teardown(() => server.close());
  let user: Credentials | undefined;
  let cookie = '';
  if (opts.auth?.mode !== 'off') {
    const name = `tester-${randomBytes(4).toString('hex')}`;
    user = await addTestUser(store, name, 'admin');
    cookie = await logIn(server.url, user);
  }
  const request = async (path: string, init: RequestInit = {}) => result(await fetch(server.url + path, { redirect: 'manual', ...init }));
  const get = (path: string) => request(path, { headers: cookie ? { Cookie: cookie } : {} });
  const statementsFor = (path: string) => {
    const hit = requests.filter((r) => r.url === path).pop();
    if (!hit) throw new Error(`no request for ${path} was recorded`);
    return hit.statements;
  };
  return { server, url: server.url, requests, user, cookie, get, request, statementsFor };
}

/** Path of a machine page, encoded the way the UI links it. */
export function machinePath(hostname: string, rest = ''): string {
  return `/machines/${encodeURIComponent(hostname)}${rest}`;
}
