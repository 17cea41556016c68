/** GET /reports — every report newest first, paged, filterable by host and outcome. */
import { fmtTime, flagBadges, machineLink, outcomeBadge, pager, reportLink } from '../components.js';
import { htmlResponse, type Handler } from '../context.js';
import { html } from '../html.js';
import { page } from '../layout.js';
import { loadReports, reportQuery } from '../model/reports.js';
import { links } from '../urls.js';

const OUTCOME_LABEL = { failed: 'refused (failed)', pcrinvalid: 'off the white list (pcrinvalid)', pcrschanged: 'PCRs changed (pcrschanged)' };

export const reportsPage: Handler = async ({ ctx, query }) => {
  const rq = reportQuery(query);
  const result = await loadReports(ctx, rq);
  const keep = { hostname: rq.hostname, outcome: rq.outcome, latestPerHost: rq.latestPerHost, limit: rq.limit };
  const body = html`
<form class="filters" method="get" action="${links.reports()}" role="search">
  <label>Hostname <input type="text" name="hostname" value="${rq.hostname ?? ''}"></label>
  <label>Outcome <select name="outcome"><option value="">all reports</option>${Object.entries(OUTCOME_LABEL).map(([v, label]) =>
    html`<option value="${v}"${v === rq.outcome ? html` selected` : ''}>${label}</option>`)}</select></label>
  <label><span><input type="checkbox" name="latestPerHost" value="true"${rq.latestPerHost ? html` checked` : ''}> latest per host</span></label>
  <button type="submit">Filter</button>
</form>
${result.items.length === 0 ? html`<p id="empty">No reports match.</p>` : html`<table id="reports"><thead><tr><th>Report</th><th>Machine</th><th>Quoted</th><th>Boot time</th><th>Outcome</th><th>Flags</th></tr></thead><tbody>
${result.items.map((r) => html`<tr data-id="${r.id}"><td>${reportLink(r.id)}</td><td>${machineLink(r.hostname)}</td><td>${fmtTime(r.quoted)}</td><td>${r.boottime ?? '—'}</td>
<td>${outcomeBadge(r)}${r.errorCode ? html` <code>${r.errorCode}</code>` : ''}</td><td>${flagBadges(r)}</td></tr>`)}
</tbody></table>`}
${pager(rq.cursor ? links.reports(keep) : null, result.next ? links.reports({ ...keep, cursor: result.next }) : null)}`;
  const crumbs = rq.hostname
    ? [{ label: 'Machines', href: links.machines() }, { label: rq.hostname, href: links.machine(rq.hostname) }, { label: 'Reports' }]
    : [{ label: 'Reports' }];
  return htmlResponse(page({ title: rq.hostname ? `Reports of ${rq.hostname}` : 'Reports', crumbs, body }));
};
