/**
 * GET /admin/tokens: every API token with its role and state; POST (field
 * `revoke`, the token's name) revokes one — for an admin, from this site's
 * own form, with the session's CSRF token (web/server.ts checks all three
 * before this handler runs). Tokens are created on the command line only,
 * where the secret can be shown once to the person who will use it.
 */
import { htmlResponse, type Handler } from '../context.js';
import { csrfField, redirect } from '../auth/login-pages.js';
import { html } from '../html.js';
import { page } from '../layout.js';
import { BadRequestError, NotFoundError } from '../params.js';
import { links } from '../urls.js';

const when = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : '');

export const tokensPage: Handler = async ({ ctx, method, principal, form }) => {
  const accounts = ctx.accounts;
  if (!accounts) throw new NotFoundError('this server keeps no accounts');
  if (method === 'POST') {
    const name = form?.string('revoke');
    if (!name) throw new BadRequestError('name the token to revoke', 'revoke');
    if (!(await accounts.revokeToken(name))) throw new NotFoundError(`no active token ${name}`);
    ctx.logger?.info({ user: principal?.name, token: name }, 'web: API token revoked');
    return redirect(links.tokens());
  }
  const tokens = await accounts.tokens();
  const body = html`<p class="muted">Create tokens with <code>acs-server token create --name NAME --role viewer|admin</code>; the token is shown once there.</p>
<table id="tokens"><thead><tr><th>Name</th><th>Role</th><th>Created</th><th>State</th><th></th></tr></thead><tbody>
${tokens.map(
  (t) => html`<tr><td>${t.name}</td><td>${t.role}</td><td>${when(t.createdAt)}</td><td>${t.revokedAt ? `revoked ${when(t.revokedAt)}` : 'active'}</td>
<td>${t.revokedAt ? '' : html`<form method="post" action="${links.tokens()}">${csrfField(principal)}<input type="hidden" name="revoke" value="${t.name}"><button type="submit">Revoke ${t.name}</button></form>`}</td></tr>`,
)}
</tbody></table>`;
  return htmlResponse(page({ title: 'API tokens', crumbs: [{ label: 'Account', href: links.account() }, { label: 'API tokens' }], body }));
};
