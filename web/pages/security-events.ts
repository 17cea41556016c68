/** GET /security-events?cursor= — requests that were no host's evidence (quotes not signed by the enrolled AK), newest first; admins only. */
import { fmtTime, pager } from '../components.js';
import { htmlResponse, type Handler } from '../context.js';
import { html } from '../html.js';
import { page } from '../layout.js';
import { links } from '../urls.js';

export const securityEventsPage: Handler = async ({ ctx, query }) => {
  const cursor = query.string('cursor');
  const result = await ctx.data.securityEvents(cursor);
  const body = html`<p class="muted">Quotes whose signature does not verify with the named host's enrolled AK. They changed nothing of that host;
at most 60 a minute are recorded and the newest 10,000 kept.</p>
${result.items.length === 0 ? html`<p id="empty">No security events.</p>` : html`<table id="security-events"><thead><tr><th>Time</th><th>Kind</th><th>Hostname named</th><th>Detail</th></tr></thead><tbody>
${result.items.map((e) => html`<tr data-id="${e.id}"><td>${fmtTime(e.timestamp)}</td><td><code>${e.kind}</code></td><td class="wrap">${e.hostname ?? '—'}</td><td class="wrap">${e.detail}</td></tr>`)}
</tbody></table>`}
${pager(cursor ? links.securityEvents() : null, result.next ? links.securityEvents(result.next) : null)}`;
  return htmlResponse(page({ title: 'Security events', crumbs: [{ label: 'Security events' }], body }));
};
