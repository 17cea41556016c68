/** GET / — machines by state and the latest failures. */
import { MACHINE_STATES } from '../../db/queries.js';
import { badge, fmtTime, flagBadges, machineLink, outcomeBadge, reportLink, STATE_TEXT, stateBadge } from '../components.js';
import { htmlResponse, stateOptions, type Handler } from '../context.js';
import { html } from '../html.js';
import { page } from '../layout.js';
import { links } from '../urls.js';

const LATEST_FAILURES = 10;

export const overviewPage: Handler = async ({ ctx }) => {
  const [counts, failed, offList] = await Promise.all([
    ctx.data.overview(stateOptions(ctx)),
    ctx.data.reports({ failed: true, limit: LATEST_FAILURES }),
    ctx.data.reports({ pcrinvalid: true, limit: LATEST_FAILURES }),
  ]);
  const failures = [...failed.items, ...offList.items].sort((a, b) => b.id - a.id).slice(0, LATEST_FAILURES);
  const staleHours = Math.round(ctx.staleAfterMs / 3_600_000);
  const body = html`
<section aria-label="Machines by state" class="cards">
  <a class="card" href="${links.machines()}" data-state="all"><span class="count">${counts.machines}</span>machines</a>
  ${MACHINE_STATES.map((s) => html`<a class="card" href="${links.machines({ state: s })}" data-state="${s}"><span class="count">${counts[s]}</span>${stateBadge(s)}</a>`)}
</section>
<p class="muted">${STATE_TEXT.trusted}: the last report verified and its firmware PCRs match the white list;
${STATE_TEXT.failing}: the last report was refused or left the white list;
${STATE_TEXT.stale}: no report within ${staleHours} hours; ${STATE_TEXT.never}: enrolled (or enrolling) without a report.</p>
<h2>Latest failures</h2>
${failures.length === 0
    ? html`<p>${badge('pass', 'no failed reports')}</p>`
    : html`<table id="failures"><thead><tr><th>Report</th><th>Machine</th><th>Quoted</th><th>Outcome</th><th>Why</th></tr></thead><tbody>
${failures.map((r) => html`<tr><td>${reportLink(r.id)}</td><td>${machineLink(r.hostname)}</td><td>${fmtTime(r.quoted)}</td><td>${outcomeBadge(r)}</td>
<td>${r.errorCode ? html`<code>${r.errorCode}</code> ${r.diagnosis ?? r.errorMessage ?? ''}` : flagBadges(r)}</td></tr>`)}
</tbody></table>
<p><a href="${links.reports({ outcome: 'failed' })}">All refused reports</a> · <a href="${links.reports({ outcome: 'pcrinvalid' })}">All reports off the white list</a></p>`}
<p><a href="${links.securityEvents()}">Security events</a> (admins): quotes not signed by the enrolled AK of the host they name.</p>
`;
  return htmlResponse(page({ title: 'Overview', crumbs: [], body }));
};
