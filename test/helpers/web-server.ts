/**
 * A web server over a seeded store for tests, with every request's statement
 * count recorded, and a small HTTP client for it.
 */
import type { Test } from 'tap';
import type { Store } from '../../db/store.js';
import { startWebServer, type RequestInfo, type WebServer } from '../../web/server.js';
import { DEFAULT_SERVER_CONFIG } from '../../server/config.js';

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed body when it is JSON. */
  json: any;
}

export interface TestWeb {
  server: WebServer;
  url: string;
  requests: RequestInfo[];
  get(path: string): Promise<HttpResult>;
  /** Statements issued by the last request for `path`. */
  statementsFor(path: string): number;
}

export async function startTestWeb(t: Test, store: Store, opts: { now?: Date; staleAfterMs?: number } = {}): Promise<TestWeb> {
  const requests: RequestInfo[] = [];
  const server = await startWebServer({
    store,
    port: 0,
    host: DEFAULT_SERVER_CONFIG.webHost,
    staleAfterMs: opts.staleAfterMs ?? DEFAULT_SERVER_CONFIG.staleAfterMs,
    now: opts.now ? () => opts.now! : undefined,
    onRequest: (info) => requests.push(info),
  });
  t.teardown(() => server.close());
  const get = async (path: string): Promise<HttpResult> => {
    const res = await fetch(server.url + path, { redirect: 'manual' });
    const text = await res.text();
    const json = (res.headers.get('content-type') ?? '').startsWith('application/json') ? JSON.parse(text) : undefined;
    return { status: res.status, headers: res.headers, text, json };
  };
  const statementsFor = (path: string) => {
    const hit = requests.filter((r) => r.url === path).pop();
    if (!hit) throw new Error(`no request for ${path} was recorded`);
    return hit.statements;
  };
  return { server, url: server.url, requests, get, statementsFor };
}

/** Path of a machine page, encoded the way the UI links it. */
export function machinePath(hostname: string, rest = ''): string {
  return `/machines/${encodeURIComponent(hostname)}${rest}`;
}
