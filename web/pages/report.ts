/** GET /reports/:id (and its quote as JSON) — one report: steps, flags, PCRs against white list and previous report. */
import { badge, fmtTime, hash, machineLink, outcomeBadge, props, reportLink, stateBadge } from '../components.js';
import { download, htmlResponse, type Handler } from '../context.js';
import { html, type SafeHtml } from '../html.js';
import { page } from '../layout.js';
import { loadReport, storedQuote, type ReportDetail } from '../model/report.js';
import { bootParam, idSegment, NotFoundError } from '../params.js';
import { errorDescription } from '../report-view.js';
import { apiLinks, links } from '../urls.js';

function pcrTable(d: ReportDetail): SafeHtml {
  if (d.pcrs.length === 0) return html`<p>${badge('none', 'no PCR values recorded')}</p>`;
  const prev = d.previous;
  return html`<table id="pcrs"><thead><tr><th>Bank</th><th class="num">PCR</th><th>This report</th><th>White list</th>
<th>Previous report${prev ? html` (${reportLink(prev.id)})` : ''}</th><th>Differences</th></tr></thead><tbody>
${d.pcrs.map((p) => html`<tr class="${p.offWhitelist || p.changed ? 'diff' : ''}" data-pcr="${p.bank}:${p.pcr}"><td>${p.bank}</td><td class="num">${p.pcr}</td>
<td>${hash(p.value)}</td><td>${hash(p.whitelist)}</td><td>${hash(p.previous)}</td>
<td>${p.offWhitelist ? badge('fail', 'differs from white list') : ''}${p.changed ? badge('warn', 'changed since previous') : ''}</td></tr>`)}
</tbody></table>`;
}

function body(d: ReportDetail): SafeHtml {
  const r = d.report;
  const host = r.hostname;
  return html`
${props([
    ['Machine', html`${machineLink(host)} ${stateBadge(d.machine.state)}`],
    ['Outcome', outcomeBadge(r)],
    ...(r.errorCode ? [['Refused with', html`<code>${r.errorCode}</code> ${errorDescription(r)}${r.errorMessage ? html`: ${r.errorMessage}` : ''}`] as const] : []),
    ['User', r.userid],
    ['Boot time (host-reported)', html`${r.boottime ?? '—'}${r.newBoot ? html` ${badge('none', 'new boot')}` : ''}`],
    ['Nonce', hash(r.nonce)],
    ['Nonce issued', fmtTime(r.timestamp)],
    ['Quoted', fmtTime(r.quoted)],
    ['TPM resets / restarts', `${r.resetCount ?? '—'} / ${r.restartCount ?? '—'}`],
    ['Previous report', d.previous ? reportLink(d.previous.id) : 'none'],
  ])}
<p><a href="${links.bioslog(host, { attestation: r.id })}">Firmware log</a> ·
<a href="${links.imalog(host, { boot: bootParam(r.boottime) })}">IMA log of this boot</a> ·
${r.quote !== null ? html`<a href="${links.quoteJson(r.id)}" download>Quote JSON</a> · ` : ''}<a href="${apiLinks.report(r.id)}">JSON</a></p>
<h2>Flags</h2>
<table id="flags"><thead><tr><th>Check</th><th>Column</th><th>Result</th></tr></thead><tbody>
${d.flags.map((f) => html`<tr><td>${f.label}</td><td><code>${f.column}</code></td><td>${badge(f.verdict, f.text)}</td></tr>`)}
</tbody></table>
<h2>Verification steps</h2>
<ol class="steps" id="steps">${d.steps.map((s) => html`<li data-verdict="${s.verdict}">${badge(s.verdict, s.verdict === 'none' ? 'n/a' : s.verdict)} <strong>${s.name}</strong>: ${s.detail}</li>`)}</ol>
<h2>PCR values</h2>
${pcrTable(d)}
${r.quote !== null ? html`<details><summary>Stored quote request</summary><pre>${JSON.stringify(storedQuote(r), null, 2)}</pre></details>` : ''}
`;
}

export const reportPage: Handler = async ({ ctx, params }) => {
  const d = await loadReport(ctx, idSegment(params.id!, 'id'));
  const host = d.report.hostname;
  const crumbs = [
    { label: 'Machines', href: links.machines() },
    { label: host, href: links.machine(host) },
    { label: 'Reports', href: links.reports({ hostname: host }) },
    { label: `#${d.report.id}` },
  ];
  return htmlResponse(page({ title: `Report #${d.report.id}`, crumbs, body: body(d) }));
};

export const quoteDownload: Handler = async ({ ctx, params }) => {
  const id = idSegment(params.id!, 'id');
  const r = await ctx.data.report(id);
  if (!r || r.quote === null) throw new NotFoundError(`report ${id} has no quote`);
  return download(`${JSON.stringify(storedQuote(r), null, 2)}\n`, 'application/json; charset=utf-8', `report-${id}-quote.json`);
};
