/**
 * GET /admin/alerts: alert deliveries that failed — still retrying, with
 * their last error and next attempt, or given up — and the newest alerts
 * with where each went. Admin only (web/routes.ts): webhook URLs and alert
 * details are for administrators.
 */
import type { OutboxRow } from '../../db/alert-outbox.js';
import { htmlResponse, type Handler } from '../context.js';
import { badge, fmtTime } from '../components.js';
import { html, type SafeHtml } from '../html.js';
import { page } from '../layout.js';
import { NotFoundError } from '../params.js';

const SHOWN = 100;

function stateBadge(r: OutboxRow): SafeHtml {
  if (r.state === 'delivered') return badge('pass', 'delivered');
  if (r.state === 'failed') return badge('fail', 'given up');
  return r.lastError ? badge('warn', 'retrying') : badge('none', 'pending');
}

function row(r: OutboxRow): SafeHtml {
  const when = r.state === 'delivered' ? fmtTime(r.deliveredAt) : r.state === 'pending' ? `next ${fmtTime(r.nextAttemptAt)}` : '';
  return html`<tr><td>${fmtTime(r.createdAt)}</td><td>${r.type}</td><td>${r.hostname ?? ''}</td><td>${r.sink}</td><td>${stateBadge(r)}</td><td>${r.attempts}</td><td>${when}</td><td>${r.lastError ?? ''}</td><td><code>${r.alertId}</code></td></tr>`;
}

const HEAD = html`<thead><tr><th>Raised</th><th>Type</th><th>Machine</th><th>Sink</th><th>State</th><th>Attempts</th><th>When</th><th>Last error</th><th>Alert id</th></tr></thead>`;

export const alertsPage: Handler = async ({ ctx }) => {
  const outbox = ctx.outbox;
  if (!outbox) throw new NotFoundError('this server keeps no alerts');
  const [troubled, recent] = await Promise.all([outbox.troubled(SHOWN), outbox.recent(SHOWN)]);
  const body = html`<h2>Failed deliveries</h2>
${troubled.length ? html`<table id="failed-deliveries">${HEAD}<tbody>${troubled.map(row)}</tbody></table>` : html`<p id="no-failures">No delivery has failed.</p>`}
<h2>Newest alerts</h2>
<table id="recent-alerts">${HEAD}<tbody>${recent.map(row)}</tbody></table>`;
  return htmlResponse(page({ title: 'Alerts', crumbs: [{ label: 'Alerts' }], body }));
};
