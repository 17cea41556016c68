/** GET /reports/:id (and its quote as JSON) — one report: its diagnosis first, every check, flags, PCRs against white list, previous report and replay. */
import { badge, fmtTime, hash, machineLink, outcomeBadge, props, reportLink, stateBadge } from '../components.js';
import { download, htmlResponse, type Handler } from '../context.js';
import { html, type SafeHtml } from '../html.js';
import { page } from '../layout.js';
import { loadReport, storedQuote, type ReportDetail } from '../model/report.js';
import { bootParam, idSegment, NotFoundError } from '../params.js';
import type { ReportCheck } from '../../db/report-verdict.js';
import { errorDescription, type Verdict } from '../report-view.js';
import { apiLinks, links } from '../urls.js';

function pcrTable(d: ReportDetail): SafeHtml {
  if (d.pcrs.length === 0) return html`<p>${badge('none', 'no PCR values recorded')}</p>`;
  const prev = d.previous;
  const suspects = new Map(d.diagnosis.pcrs.map((p) => [`${p.bank}:${p.pcr}`, p.reason]));
  const replayed = d.pcrs.some((p) => p.replayed !== null);
  return html`<table id="pcrs"><thead><tr><th>Bank</th><th class="num">PCR</th><th>This report</th><th>White list</th>
<th>Previous report${prev ? html` (${reportLink(prev.id)})` : ''}</th>${replayed ? html`<th>Replayed from the logs</th>` : ''}<th>Differences</th></tr></thead><tbody>
${d.pcrs.map((p) => {
    const suspect = suspects.get(`${p.bank}:${p.pcr}`);
    return html`<tr class="${p.offWhitelist || p.changed || suspect ? 'diff' : ''}" data-pcr="${p.bank}:${p.pcr}"><td id="pcr-${p.bank}-${p.pcr}">${p.bank}</td><td class="num">${p.pcr}</td>
<td>${hash(p.value)}</td><td>${hash(p.whitelist)}</td><td>${hash(p.previous)}</td>${replayed ? html`<td>${hash(p.replayed)}</td>` : ''}
<td>${suspect ? badge('fail', suspect) : ''}${p.offWhitelist ? badge('fail', 'differs from white list') : ''}${p.changed ? badge('warn', 'changed since previous') : ''}</td></tr>`;
  })}
</tbody></table>`;
}

const CHECK_VERDICT: Record<ReportCheck['result'], Verdict> = { pass: 'pass', fail: 'fail', warn: 'warn', 'n/a': 'none' };

/** The diagnosis first: one sentence, then the named PCRs and events, linked into the log views. */
function diagnosisSection(d: ReportDetail): SafeHtml {
  const r = d.report;
  const g = d.diagnosis;
  const host = r.hostname;
  return html`<section id="diagnosis"><h2>Diagnosis</h2>
<p id="diagnosis-summary">${g.summary}</p>
${g.pcrs.length ? html`<ul id="diagnosis-pcrs">${g.pcrs.map((p) => html`<li><a href="#pcr-${p.bank}-${p.pcr}">PCR ${p.pcr} (${p.bank})</a>: ${p.reason}${
    p.expected ? html`; expected ${hash(p.expected)}` : ''}${p.replayed ? html`; replayed ${hash(p.replayed)}` : ''}</li>`)}</ul>` : ''}
${g.firmwareEvents.length ? html`<h3>Firmware events</h3><ul id="diagnosis-firmware">${g.firmwareEvents.map((e) =>
    html`<li><a href="${links.firmwareEvent(host, r.id, e.entrynum)}">event ${e.entrynum}</a>: ${e.reason}</li>`)}</ul>` : ''}
${g.imaEntries.length ? html`<h3>IMA entries</h3><ul id="diagnosis-ima">${g.imaEntries.map((e) =>
    html`<li><a href="${links.reportImaEntry(host, r.id, e.entrynum)}">entry ${e.entrynum}</a>: ${e.reason}</li>`)}</ul>` : ''}
</section>`;
}

function checksSection(d: ReportDetail): SafeHtml {
  if (d.checks.length === 0) return html``;
  return html`<h2>Checks</h2>
<table id="checks"><thead><tr><th>Check</th><th>Result</th><th>Detail</th></tr></thead><tbody>
${d.checks.map((c) => html`<tr data-check="${c.name}"><td>${c.name}</td><td>${badge(CHECK_VERDICT[c.result], c.result)}</td><td class="wrap">${c.detail}</td></tr>`)}
</tbody></table>`;
}

/** Links to the events stored with this report, accepted or refused. */
function evidenceLinks(d: ReportDetail): SafeHtml {
  const r = d.report;
  const refused = r.errorCode !== null;
  const what = refused ? 'kept as evidence of this refused report' : 'stored with this report';
  return html`<p id="evidence">Events ${what}:
${d.evidence.firmwareEvents ? html`<a href="${links.bioslog(r.hostname, { attestation: r.id })}">${d.evidence.firmwareEvents} firmware events</a>` : 'no firmware events'} ·
${d.evidence.imaEvents ? html`<a href="${links.imalog(r.hostname, { attestation: r.id })}">${d.evidence.imaEvents} IMA entries</a>` : 'no IMA entries'}</p>`;
}

function body(d: ReportDetail): SafeHtml {
  const r = d.report;
  const host = r.hostname;
  return html`
${diagnosisSection(d)}
${evidenceLinks(d)}
${props([
    ['Machine', html`${machineLink(host)} ${stateBadge(d.machine.state)}`],
    ['Outcome', outcomeBadge(r)],
    ...(r.errorCode ? [['Refused with', html`<code>${r.errorCode}</code> ${errorDescription(r)}${r.errorMessage ? html`: ${r.errorMessage}` : ''}`] as const] : []),
    ['User', r.userid],
    ['Boot time (host-reported)', html`${r.boottime ?? '—'}${r.newBoot ? html` ${badge('none', 'new boot')}` : ''}`],
    // A nonce still waiting for its quote is never shown: whoever holds it could answer in the host's name.
    ['Nonce', r.quoted === null ? html`<span class="muted">not shown until its quote arrives</span>` : hash(r.nonce)],
    ['Nonce issued', fmtTime(r.timestamp)],
    ['Quoted', fmtTime(r.quoted)],
    ['TPM resets / restarts', `${r.resetCount ?? '—'} / ${r.restartCount ?? '—'}`],
    ['Previous report', d.previous ? reportLink(d.previous.id) : 'none'],
  ])}
<p><a href="${links.bioslog(host, { attestation: r.id })}">Firmware log</a> ·
<a href="${links.imalog(host, { boot: bootParam(r.boottime) })}">IMA log of this boot</a> ·
${r.quote !== null ? html`<a href="${links.quoteJson(r.id)}" download>Quote JSON</a> · ` : ''}<a href="${apiLinks.report(r.id)}">JSON</a></p>
${checksSection(d)}
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
