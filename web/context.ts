/** What every route handler gets, and what it answers. */
import type { AuthStore } from '../db/auth-store.js';
import type { OutboxSql } from '../db/alert-outbox.js';
import type { PolicySql } from '../db/policy-store.js';
import type { StateOptions } from '../db/queries.js';
import type { Principal } from './auth/web-auth.js';
import type { WebQueries } from '../db/web-queries.js';
import type { Logger } from '../shared/log.js';
import type { SafeHtml } from './html.js';
import type { Params } from './params.js';

export interface WebContext {
  data: WebQueries;
  /** Users and API tokens, for the admin pages; absent when the server was given queries instead of a store. */
  accounts?: AuthStore;
  /** For what an admin changes, which is logged at info level with who changed it. */
  logger?: Logger;
  /** Reference-value policies and their assignments, for the admin pages; absent like accounts. */
  policies?: PolicySql;
  /** The alert outbox, for the admin page of deliveries; absent like accounts. */
  outbox?: OutboxSql;
  /** A machine whose last passing report is older than this is stale. */
  staleAfterMs: number;
  now(): Date;
}

export interface RouteRequest {
  ctx: WebContext;
  /** GET, HEAD, or a method the route lists (then the requester is an admin and the CSRF token checked). */
  method: string;
  /** Who asks (web/auth/web-auth.ts); public routes get null. */
  principal: Principal | null;
  /** The url-encoded form of a POST, read and checked before the handler runs; null for GET and HEAD. */
  form: Params | null;
  /** Decoded path parameters (":hostname", ":id"). */
  params: Record<string, string>;
  query: Params;
}

export interface WebResponse {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

export type Handler = (req: RouteRequest) => Promise<WebResponse>;

export function stateOptions(ctx: WebContext): StateOptions {
  return { staleAfterMs: ctx.staleAfterMs, now: ctx.now() };
}

export function htmlResponse(body: SafeHtml, status = 200): WebResponse {
  return { status, contentType: 'text/html; charset=utf-8', body: body.text };
}

export function jsonResponse(value: unknown, status = 200): WebResponse {
  return { status, contentType: 'application/json; charset=utf-8', body: `${JSON.stringify(value, null, 2)}\n` };
}

/** A file to save: the name keeps only characters safe in a Content-Disposition header. */
export function download(body: string, contentType: string, filename: string): WebResponse {
  const safe = filename.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120);
  return { status: 200, contentType, body, headers: { 'Content-Disposition': `attachment; filename="${safe}"` } };
}
