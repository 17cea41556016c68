/**
 * Who is asking: every web request is identified before any route runs, by
 * (in this order) login being turned off, an API token (`Authorization:
 * Bearer`, RFC 6750 §2.1, on /api only), a user name header set by a trusted
 * single-sign-on proxy, or a session cookie. Logging in and out live here
 * too, so the whole of authentication is one file's decisions.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { AuthStore, Role } from '../../db/auth-store.js';
import type { Logger } from '../../shared/log.js';
import { clearedSessionCookie, cookieValue, SESSION_COOKIE, sessionCookie } from './cookies.js';
import { DEFAULT_LOGIN_LIMITS, LoginThrottle, type LoginLimits } from './login-throttle.js';
import { MAX_PASSWORD_LENGTH, verifyNothing, verifyPassword } from './password.js';
import { derived, newSecret, sameSecret, secretHash } from './secrets.js';

export type AuthMode = 'required' | 'off';
export const AUTH_MODES: readonly AuthMode[] = ['required', 'off'];

export interface WebAuthOptions {
  /** Default 'required'; 'off' only on a loopback listener. */
  mode?: AuthMode;
  /** Host names the UI answers to besides its listen address and the loopback names (`--web-public-name`). */
  publicNames?: readonly string[];
  /** Addresses of reverse proxies trusted to name the user in `proxyUserHeader` (`--web-trusted-proxy`). */
  trustedProxies?: readonly string[];
  /** The header those proxies set, e.g. X-Forwarded-User (`--web-proxy-user-header`). */
  proxyUserHeader?: string;
  /** Lifetime of a login session. Default 12 hours. */
  sessionTtlMs?: number;
  loginLimits?: Partial<LoginLimits>;
}

export const DEFAULT_SESSION_TTL_MS = 12 * 3600_000;

/** The identified requester. */
export interface Principal {
  name: string;
  role: Role;
  via: 'session' | 'token' | 'proxy' | 'off';
  /** The token a form must carry to change state; null for API tokens, which no browser sends by itself. */
  csrf: string | null;
}

/** A setting that cannot work; the CLI exits 2 with its message. */
export class WebAuthConfigError extends Error {
  override name = 'WebAuthConfigError';
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Why a login mode cannot be used on a listen address, or undefined when it can. */
export function authModeProblem(mode: AuthMode | undefined, host: string): string | undefined {
  if (mode === 'off' && !isLoopback(host)) return `--web-auth off is allowed only on a loopback --web-host (127.0.0.1, ::1, localhost), not ${host}`;
  return undefined;
}

/** An IPv4 peer seen on a dual-stack socket as ::ffff:a.b.c.d is a.b.c.d. */
function peerAddress(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, '');
}

export type LoginResult =
  | { ok: true; cookie: string; principal: Principal }
  | { ok: false; throttledForMs: number };

/** Proxy-supplied names: printable, no separators an HTML or log reader could trip on. */
const PROXY_NAME = /^[\w.@+-]{1,255}$/u;

export class WebAuth {
  readonly mode: AuthMode;
  private readonly throttle: LoginThrottle;
  private readonly proxies: Set<string>;
  private readonly proxyHeader: string | undefined;
  private readonly sessionTtlMs: number;
  /** Keys the CSRF tokens of principals without a session (proxy users, login turned off); new each start. */
  private readonly serverSecret = newSecret();

  constructor(
    private readonly accounts: AuthStore | undefined,
    opts: WebAuthOptions,
    private readonly secure: boolean,
    private readonly log?: Logger,
  ) {
    this.mode = opts.mode ?? 'required';
    if (this.mode === 'required' && !accounts) throw new WebAuthConfigError('web login needs a store with the account tables');
    this.throttle = new LoginThrottle({ ...DEFAULT_LOGIN_LIMITS, ...opts.loginLimits });
    this.proxies = new Set((opts.trustedProxies ?? []).map((a) => a.replace(/^\[(.*)\]$/, '$1')));
    for (const a of this.proxies) if (!isIP(a)) throw new WebAuthConfigError(`--web-trusted-proxy ${JSON.stringify(a)} is not an IP address`);
    this.proxyHeader = opts.proxyUserHeader?.toLowerCase();
    if (this.proxies.size > 0 && !this.proxyHeader) throw new WebAuthConfigError('--web-trusted-proxy needs --web-proxy-user-header');
    this.sessionTtlMs = opts.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  }

  /** The requester, or undefined when the request carries no valid credentials. */
  async identify(req: IncomingMessage, api: boolean): Promise<Principal | undefined> {
    if (this.mode === 'off') return { name: 'local', role: 'admin', via: 'off', csrf: derived(this.serverSecret, 'csrf off') };
    const accounts = this.accounts!;
    const bearer = /^Bearer ([\w.~+/-]+=*)$/.exec(req.headers.authorization ?? '');
    if (bearer && api) {
      const token = await accounts.activeToken(secretHash(bearer[1]!));
      return token ? { name: `token:${token.name}`, role: token.role, via: 'token', csrf: null } : undefined;
    }
    if (this.proxyHeader && this.proxies.has(peerAddress(req))) {
      const name = req.headers[this.proxyHeader];
      if (typeof name === 'string' && PROXY_NAME.test(name)) {
        const local = await accounts.userByName(name);
        return { name, role: local?.role ?? 'viewer', via: 'proxy', csrf: derived(this.serverSecret, `csrf proxy ${name}`) };
      }
    }
    const secret = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!secret) return undefined;
    const session = await accounts.session(secretHash(secret));
    if (!session) return undefined;
    return { name: session.name, role: session.role, via: 'session', csrf: derived(secret, 'csrf') };
  }

  /** Whether a state-changing request carries the requester's CSRF token (OWASP CSRF Cheat Sheet, synchronizer token). */
  csrfValid(principal: Principal, supplied: string | undefined): boolean {
    if (principal.csrf === null) return true;
    return supplied !== undefined && sameSecret(principal.csrf, supplied);
  }

  /** Checks a password; on success stores a new session and returns its cookie. */
  async login(name: string, password: string, address: string): Promise<LoginResult> {
    const accounts = this.accounts!;
    const throttledForMs = this.throttle.blockedFor(address, name);
    if (throttledForMs > 0) {
      this.log?.warn({ user: name, address }, 'web: login refused, too many failures');
      return { ok: false, throttledForMs };
    }
    const user = name.length <= 64 && password.length <= MAX_PASSWORD_LENGTH ? await accounts.userByName(name) : undefined;
    const good = user ? await verifyPassword(password, user.passwordHash) : await verifyNothing(password);
    if (!user || !good) {
      this.throttle.failed(address, name);
      this.log?.warn({ user: name, address }, 'web: login failed');
      return { ok: false, throttledForMs: 0 };
    }
    this.throttle.succeeded(name);
    const secret = newSecret();
    await accounts.createSession(user.id, secretHash(secret), new Date(Date.now() + this.sessionTtlMs));
    this.log?.info({ user: name, address }, 'web: logged in');
    return {
      ok: true,
      cookie: sessionCookie(secret, { secure: this.secure, maxAgeSeconds: Math.floor(this.sessionTtlMs / 1000) }),
      principal: { name: user.name, role: user.role, via: 'session', csrf: derived(secret, 'csrf') },
    };
  }

  /** Ends the request's session (if any); returns the cookie that clears it. */
  async logout(req: IncomingMessage): Promise<string> {
    const secret = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (secret && this.accounts) await this.accounts.deleteSession(secretHash(secret));
    return clearedSessionCookie(this.secure);
  }

  addressOf(req: IncomingMessage): string {
    return peerAddress(req);
  }
}
