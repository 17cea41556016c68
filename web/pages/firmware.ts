/** GET /machines/:hostname/bioslog?boot=|attestation= — a firmware event log with its Secure Boot state. */
import { badge, hash, machineLink, reportLink } from '../components.js';
import { htmlResponse, type Handler } from '../context.js';
import type { SecureBootSummary } from '../firmware-view.js';
import { html, type SafeHtml } from '../html.js';
import { page } from '../layout.js';
import { loadBiosLog, type BiosLogDetail } from '../model/logs.js';
import { bootParam } from '../params.js';
import { apiLinks, links } from '../urls.js';

function list(title: string, items: string[]): SafeHtml {
  if (items.length === 0) return html``;
  return html`<h3>${title}</h3><ul>${items.map((i) => html`<li class="wrap"><code>${i}</code></li>`)}</ul>`;
}

function secureBootSection(s: SecureBootSummary | null, decodeError: string | null): SafeHtml {
  if (!s) return html`<p>${badge('fail', `events do not decode: ${decodeError ?? 'no events'}`)}</p>`;
  const verdict = s.secureBoot === 'enabled' ? 'pass' : s.secureBoot === 'disabled' ? 'fail' : 'none';
  return html`<section id="secure-boot">
<p>Secure Boot: ${badge(verdict, s.secureBoot)} · separators: ${s.separators}${s.errorSeparators ? html` ${badge('fail', `${s.errorSeparators} error separators`)}` : ''}</p>
${s.variables.length ? html`<table id="sb-variables"><thead><tr><th>Variable (PCR 7)</th><th class="num">Entries</th><th>Value</th></tr></thead><tbody>
${s.variables.map((v) => html`<tr><td>${v.name}</td><td class="num">${v.entries ?? ''}</td><td class="wrap">${v.value}</td></tr>`)}</tbody></table>` : ''}
${list('Authorities that allowed images to load', s.authorities)}
${list('Boot variables', s.bootVariables)}
${list('Boot applications', s.bootApplications)}
${list('Actions', s.actions)}
</section>`;
}

function body(d: BiosLogDetail): SafeHtml {
  const host = d.summary.machine.hostname;
  const withLog = d.boots.filter((b) => b.biosAttestationId !== null);
  return html`
<p>Machine ${machineLink(host)} · boot ${d.boot ? d.boot.boottime ?? 'not reported' : '—'} ·
${d.attestationId !== null ? html`log sent with report ${reportLink(d.attestationId)}` : 'no firmware log stored'}${d.refused ? html` ${badge('fail', 'evidence of a refused report, not part of the accepted chain')}` : ''} ·
<a href="${apiLinks.bioslog(host)}">JSON</a></p>
${withLog.length > 1 ? html`<nav aria-label="Boots"><p>Boots: ${withLog.map((b) =>
    html`<a href="${links.bioslog(host, { boot: bootParam(b.boottime) })}"${b === d.boot ? html` aria-current="page"` : ''}>${b.boottime ?? 'not reported'}</a> `)}</p></nav>` : ''}
${d.log.events.length === 0 ? html`<p>${badge('none', 'no firmware events stored for this selection')}</p>` : html`
<h2>Secure Boot</h2>
${secureBootSection(d.log.secureBoot, d.log.decodeError)}
<h2>Events (${d.log.events.length})</h2>
<table id="events"><thead><tr><th class="num">#</th><th class="num">PCR</th><th>Type</th><th>Digests</th><th>Event data</th></tr></thead><tbody>
${d.log.events.map((e) => html`<tr id="event-${e.entrynum}" data-entry="${e.entrynum}"><td class="num">${e.entrynum}</td><td class="num">${e.pcrindex}</td><td>${e.eventtype}</td>
<td>${e.digests.map((g) => html`<div>${g.alg}: ${hash(g.digest)}</div>`)}</td>
<td class="wrap">${e.event}<details><summary>raw</summary><code class="hash">${e.raw}</code></details></td></tr>`)}
</tbody></table>`}`;
}

export const firmwarePage: Handler = async ({ ctx, params, query }) => {
  const sel = { boot: query.boot(), attestation: query.int('attestation', 1, Number.MAX_SAFE_INTEGER) };
  const d = await loadBiosLog(ctx, params.hostname!, sel);
  const host = d.summary.machine.hostname;
  const crumbs = [{ label: 'Machines', href: links.machines() }, { label: host, href: links.machine(host) }, { label: 'Firmware log' }];
  return htmlResponse(page({ title: `Firmware log of ${host}`, crumbs, body: body(d) }));
};
