/**
 * The login form (`POST /login`, fields `user` and `password`), the account
 * page with its logout button (`POST /logout`), and the hidden CSRF field
 * every state-changing form carries. Plain HTML forms: they work under the
 * pages' `form-action 'self'` policy without a line of script.
 */
import type { IncomingMessage } from 'node:http';
import { htmlResponse, type Handler, type WebResponse } from '../context.js';
import { html, type SafeHtml } from '../html.js';
import { page } from '../layout.js';
import type { Params } from '../params.js';
import { links } from '../urls.js';
import type { Principal, WebAuth } from './web-auth.js';

export const LOGIN_PATH = links.login();
export const LOGOUT_PATH = links.logout();
export const CSRF_FIELD = 'csrf';

/** The hidden field a POST form needs; empty for requesters that need none. */
export function csrfField(principal: Principal | null): SafeHtml {
  return principal?.csrf ? html`<input type="hidden" name="${CSRF_FIELD}" value="${principal.csrf}">` : html``;
}

/** Where to go after logging in: a path on this site only, never another origin (`//evil`, `/\\evil`). */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])/.test(next) && next.length <= 2048 ? next : '/';
}

/** The login page address that comes back to `path` afterwards. */
export function loginUrl(path: string): string {
  return path === '/' ? LOGIN_PATH : `${LOGIN_PATH}?next=${encodeURIComponent(path)}`;
}

export function redirect(location: string, headers: Record<string, string> = {}): WebResponse {
  return { status: 303, contentType: 'text/plain; charset=utf-8', body: `See ${location}\n`, headers: { Location: location, ...headers } };
}

function loginForm(next: string, message: string | null, status: number, headers: Record<string, string> = {}): WebResponse {
  const body = html`${message ? html`<p id="login-error" class="badge fail" role="alert">${message}</p>` : ''}
<form method="post" action="${LOGIN_PATH}" class="filters" id="login">
<input type="hidden" name="next" value="${next}">
<label>User <input name="user" autocomplete="username" required maxlength="64"></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required maxlength="1024"></label>
<button type="submit">Log in</button>
</form>`;
  return { ...htmlResponse(page({ title: 'Log in', crumbs: [{ label: 'Log in' }], body }), status), headers };
}

/** GET /login: the form; POST /login: check, then a session cookie and the page asked for. */
export async function loginRoute(req: IncomingMessage, query: Params, form: Params | null, auth: WebAuth): Promise<WebResponse> {
  if (auth.mode === 'off') return redirect('/');
  if (!form) return loginForm(safeNext(query.string('next')), null, 200);
  const next = safeNext(form.string('next'));
  const user = form.string('user') ?? '';
  const result = await auth.login(user, form.string('password') ?? '', auth.addressOf(req));
  if (result.ok) return redirect(next, { 'Set-Cookie': result.cookie });
  if (result.throttledForMs > 0) {
    const minutes = Math.ceil(result.throttledForMs / 60_000);
    return loginForm(next, `Too many failed logins; try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`, 429, {
      'Retry-After': String(Math.ceil(result.throttledForMs / 1000)),
    });
  }
  return loginForm(next, 'Wrong user name or password.', 401);
}

/** POST /logout: ends the session and shows the login form. */
export async function logoutRoute(req: IncomingMessage, auth: WebAuth): Promise<WebResponse> {
  return redirect(LOGIN_PATH, { 'Set-Cookie': await auth.logout(req) });
}

const VIA: Record<Principal['via'], string> = {
  session: 'logged in with a password',
  token: 'API token',
  proxy: 'single sign-on through the trusted proxy',
  off: 'login is turned off (loopback only): every local request acts as admin',
};

/** GET /account: who you are, and the logout button. */
export const accountPage: Handler = async ({ principal }) => {
  const p = principal!;
  const body = html`<dl class="props">
<dt>User</dt><dd id="account-user">${p.name}</dd>
<dt>Role</dt><dd id="account-role">${p.role}</dd>
<dt>Signed in by</dt><dd>${VIA[p.via]}</dd>
</dl>
${p.role === 'admin' ? html`<p><a href="${links.tokens()}">API tokens</a> · <a href="${links.policies()}">Policies</a> · <a href="${links.alerts()}">Alerts</a></p>` : ''}
${p.via === 'session' ? html`<form method="post" action="${LOGOUT_PATH}" id="logout">${csrfField(p)}<button type="submit">Log out</button></form>` : ''}`;
  return htmlResponse(page({ title: 'Account', crumbs: [{ label: 'Account' }], body }));
};
