/**
 * GET /admin/alerts: alert deliveries that failed — still retrying, with
 * their last error and next attempt, or given up — and the newest alerts
 * with where each went; POST (field `retry`, the delivery's id) makes a
 * given-up delivery due again. Admin only (web/routes.ts, which also checks
 * the form's CSRF token): webhook URLs and alert details are for
 * administrators.
 */
import type { OutboxRow } from '../../db/alert-outbox.js';
import { htmlResponse, type Handler } from '../context.js';
import { badge, fmtTime } from '../components.js';
import { html, type SafeHtml } from '../html.js';
import { page } from '../layout.js';
import { BadRequestError, NotFoundError } from '../params.js';
import { csrfField, redirect } from '../auth/login-pages.js';
import type { Principal } from '../auth/web-auth.js';
import { links } from '../urls.js';

const SHOWN = 100;

function stateBadge(r: OutboxRow): SafeHtml {
  if (r.state === 'delivered') return badge('pass', 'delivered');
  if (r.state === 'failed') return badge('fail', 'given up');
  return r.lastError ? badge('warn', 'retrying') : badge('none', 'pending');
}

function row(r: OutboxRow, principal: Principal | null): SafeHtml {
  const when = r.state === 'delivered' ? fmtTime(r.deliveredAt) : r.state === 'pending' ? `next ${fmtTime(r.nextAttemptAt)}` : '';
  const retry = r.state === 'failed'
    ? html`<form method="post" action="${links.alerts()}">${csrfField(principal)}<input type="hidden" name="retry" value="${r.id}"><button type="submit">Retry</button></form>`
    : '';
  return html`<tr><td>${fmtTime(r.createdAt)}</td><td>${r.type}</td><td>${r.hostname ?? ''}</td><td>${r.sink}</td><td>${stateBadge(r)}</td><td>${r.attempts}</td><td>${when}</td><td>${r.lastError ?? ''}</td><td><code>${r.alertId}</code></td><td>${retry}</td></tr>`;
}

const HEAD = html`<thead><tr><th>Raised</th><th>Type</th><th>Machine</th><th>Sink</th><th>State</th><th>Attempts</th><th>When</th><th>Last error</th><th>Alert id</th><th></th></tr></thead>`;

export const alertsPage: Handler = async ({ ctx, method, principal, form }) => {
  const outbox = ctx.outbox;
  if (!outbox) throw new NotFoundError('this server keeps no alerts');
  if (method === 'POST') {
    const id = Number(form?.string('retry'));
    if (!Number.isSafeInteger(id) || id < 1) throw new BadRequestError('name the delivery to retry', 'retry');
    if (!(await outbox.retry(id, ctx.now()))) throw new NotFoundError(`no given-up delivery ${id}`);
    return redirect(links.alerts());
  }
  const [troubled, recent] = await Promise.all([outbox.troubled(SHOWN), outbox.recent(SHOWN)]);
  const body = html`<h2>Failed deliveries</h2>
${troubled.length ? html`<table id="failed-deliveries">${HEAD}<tbody>${troubled.map((r) => row(r, principal))}</tbody></table>` : html`<p id="no-failures">No delivery has failed.</p>`}
<h2>Newest alerts</h2>
<table id="recent-alerts">${HEAD}<tbody>${recent.map((r) => row(r, principal))}</tbody></table>`;
  return htmlResponse(page({ title: 'Alerts', crumbs: [{ label: 'Alerts' }], body }));
};
