/** GET /machines/:hostname/imalog?boot=&status=&path=&cursor= — IMA entries of one boot, filtered and cursor-paged. */
import type { ImaStatus, StoredImaEvent } from '../../db/queries.js';
import { badge, hash, machineLink, pager, reportLink } from '../components.js';
import { htmlResponse, type Handler } from '../context.js';
import { html, type SafeHtml } from '../html.js';
import { page } from '../layout.js';
import { loadImaLog, type ImaLogDetail, type ImaSelector } from '../model/logs.js';
import { bootParam } from '../params.js';
import { apiLinks, links } from '../urls.js';

export const IMA_STATUS_TEXT: Record<ImaStatus, string> = {
  all: 'all entries',
  ok: 'no problem',
  problem: 'any problem',
  badevent: 'template hash bad',
  nosig: 'unsigned',
  nokey: 'unknown key',
  badsig: 'bad signature',
};

function statusBadges(e: StoredImaEvent): SafeHtml {
  const problems = [
    e.badevent && badge('fail', IMA_STATUS_TEXT.badevent),
    e.badsig && badge('fail', IMA_STATUS_TEXT.badsig),
    e.nokey && badge('warn', IMA_STATUS_TEXT.nokey),
    e.nosig && badge('warn', IMA_STATUS_TEXT.nosig),
  ].filter((b): b is SafeHtml => b !== false);
  const refused = e.refused ? html`${badge('fail', 'refused report\'s evidence')} ` : '';
  return problems.length ? html`${refused}${problems}` : html`${refused}${badge('pass', 'ok')}`;
}

function body(d: ImaLogDetail, sel: ImaSelector): SafeHtml {
  const host = d.summary.machine.hostname;
  const boot = d.attestationId === null && d.boot ? bootParam(d.boot.boottime) : undefined;
  const keep = { boot, attestation: d.attestationId ?? undefined, status: sel.status, path: sel.path };
  return html`
<p>Machine ${machineLink(host)} · <a href="${apiLinks.imalog(host)}">JSON</a></p>
${d.boots.length === 0 && d.attestationId === null ? html`<p>${badge('none', 'no IMA entries stored')}</p>` : html`
<nav aria-label="Boots"><table id="ima-boots"><thead><tr><th>Boot time</th><th class="num">Entries</th><th class="num">With problems</th></tr></thead><tbody>
${d.boots.map((b) => html`<tr><td><a href="${links.imalog(host, { boot: bootParam(b.boottime) })}"${b === d.boot ? html` aria-current="page"` : ''}>${b.boottime ?? 'not reported'}</a></td>
<td class="num">${b.events}</td><td class="num">${b.problems}</td></tr>`)}
</tbody></table></nav>
<form class="filters" method="get" action="${links.imalog(host)}" role="search">
  <input type="hidden" name="boot" value="${boot ?? ''}">${d.attestationId !== null ? html`<input type="hidden" name="attestation" value="${d.attestationId}">` : ''}
  <label>Status <select name="status">${Object.entries(IMA_STATUS_TEXT).map(([v, label]) =>
    html`<option value="${v}"${v === (sel.status ?? 'all') ? html` selected` : ''}>${label}</option>`)}</select></label>
  <label>Path contains <input type="search" name="path" value="${sel.path ?? ''}"></label>
  <button type="submit">Filter</button>
</form>
${d.attestationId !== null
    ? html`<h2 id="report-events">Entries stored with report ${reportLink(d.attestationId)}</h2>`
    : html`<h2>Boot ${d.boot?.boottime ?? 'not reported'}</h2>`}
${d.page.items.length === 0 ? html`<p id="empty">No entries match.</p>` : html`<table id="ima"><thead><tr><th class="num">#</th><th>File</th><th>Template</th><th>File hash</th><th>Status</th></tr></thead><tbody>
${d.page.items.map((e) => html`<tr id="entry-${e.entrynum}" data-entry="${e.entrynum}"><td class="num">${e.entrynum}</td><td class="wrap">${e.filename}</td><td>${e.template}</td><td>${hash(e.filehash)}</td>
<td>${statusBadges(e)}<details><summary>raw</summary><code class="hash">${e.imaEntry}</code></details></td></tr>`)}
</tbody></table>`}
${d.page.searchedThrough !== null ? html`<p class="muted" id="searched">Searched through entry ${d.page.searchedThrough}; the next page searches on.</p>` : ''}
${pager(sel.cursor ? links.imalog(host, keep) : null, d.page.next ? links.imalog(host, { ...keep, cursor: d.page.next }) : null)}`}`;
}

export const imaPage: Handler = async ({ ctx, params, query }) => {
  const sel: ImaSelector = {
    boot: query.boot(), attestation: query.int('attestation', 1, Number.MAX_SAFE_INTEGER), status: query.imaStatus(), path: query.string('path'), cursor: query.string('cursor'),
  };
  const d = await loadImaLog(ctx, params.hostname!, sel);
  const host = d.summary.machine.hostname;
  const crumbs = [{ label: 'Machines', href: links.machines() }, { label: host, href: links.machine(host) }, { label: 'IMA log' }];
  return htmlResponse(page({ title: `IMA log of ${host}`, crumbs, body: body(d, sel) }));
};
