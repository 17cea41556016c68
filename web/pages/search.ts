/**
 * GET /search — one form for the fleet searches: IMA entries by file digest,
 * path, path prefix and "path with another digest", firmware events by
 * digest, machines by their latest verified PCR value. Results are grouped
 * by machine and link to the exact IMA entry or firmware event.
 */
import type { FirmwareHit, ImaHit, PcrHit, SearchPage } from '../../db/search-queries.js';
import { PCR_BANK_NAMES } from '../../shared/tpm/pcr-banks.js';
import { badge, hash, machineLink, pager, reportLink } from '../components.js';
import { htmlResponse, type Handler } from '../context.js';
import { html, type HtmlValue, type SafeHtml } from '../html.js';
import { page } from '../layout.js';
import { firmwareCriteria, imaCriteria, searchFirmware, searchIma, type FirmwareResults } from '../model/search.js';
import type { Params } from '../params.js';
import { imaHitUrl } from '../search-json.js';
import { apiLinks, links } from '../urls.js';

/** The form's fields, echoed back as typed. */
const FIELDS = ['hash', 'path', 'pathPrefix', 'notHash', 'hostname', 'since', 'until', 'bank', 'pcr', 'value', 'digest'] as const;
type Echo = Partial<Record<(typeof FIELDS)[number], string>>;

function field(echo: Echo, name: keyof Echo, label: string, hint = ''): SafeHtml {
  return html`<label>${label} <input type="search" name="${name}" value="${echo[name] ?? ''}"${hint ? html` placeholder="${hint}"` : ''}></label>`;
}

function form(echo: Echo): SafeHtml {
  return html`<form class="filters" id="search-form" method="get" action="${links.search()}" role="search">
  <fieldset><legend>IMA files</legend>
  ${field(echo, 'hash', 'File hash', 'sha256:… or hex')}
  ${field(echo, 'path', 'Path (exact)', '/usr/sbin/sshd')}
  ${field(echo, 'pathPrefix', 'Path prefix', '/usr/lib/')}
  ${field(echo, 'notHash', 'Not this hash (with a path)')}
  ${field(echo, 'since', 'First seen since', '2030-01-31')}
  ${field(echo, 'until', 'First seen before')}
  </fieldset>
  <fieldset><legend>Firmware</legend>
  <label>Bank <select name="bank"><option value="">by digest length</option>${PCR_BANK_NAMES.map((b) => html`<option value="${b}"${b === echo.bank ? html` selected` : ''}>${b}</option>`)}</select></label>
  ${field(echo, 'pcr', 'PCR', '0')}
  ${field(echo, 'value', 'Latest verified PCR value')}
  ${field(echo, 'digest', 'Firmware event digest')}
  </fieldset>
  ${field(echo, 'hostname', 'Only the machine')}
  <button type="submit">Search</button>
</form>`;
}

/** Consecutive hits of one machine as one section (the searches return them in machine order). */
function byMachine<T extends { hostname: string }>(items: T[], table: (hits: T[]) => SafeHtml): SafeHtml[] {
  const groups: T[][] = [];
  for (const it of items) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.hostname === it.hostname) last.push(it);
    else groups.push([it]);
  }
  return groups.map((g) => html`<section class="machine-hits" data-hostname="${g[0]!.hostname}"><h3>${machineLink(g[0]!.hostname)} <span class="muted">${g.length} shown</span></h3>${table(g)}</section>`);
}

function imaTable(hits: ImaHit[]): SafeHtml {
  return html`<table class="ima-hits"><thead><tr><th class="num">#</th><th>File</th><th>File hash</th><th>Template</th><th>Boot</th><th>First seen</th><th>Last seen</th><th>Report</th></tr></thead><tbody>
${hits.map((h) => html`<tr><td class="num"><a href="${imaHitUrl(h)}">${h.entrynum}</a></td><td class="wrap">${h.filename}</td>
<td>${h.filehash ? html`<a href="${apiLinks.file(h.filehash)}">${hash(h.filehash)}</a>` : hash(null)}</td><td>${h.template}</td><td>${h.boottime ?? 'not reported'}</td>
<td>${h.firstSeen.toISOString()}</td><td>${h.lastSeen.toISOString()}</td><td>${reportLink(h.reportId)}${h.refused ? badge('fail', 'refused report') : ''}</td></tr>`)}
</tbody></table>`;
}

function pcrTable(hits: PcrHit[]): SafeHtml {
  return html`<table class="pcr-hits"><thead><tr><th class="num">PCR</th><th>Value</th><th>Boot</th><th>Report</th></tr></thead><tbody>
${hits.map((h) => html`<tr><td class="num">${h.pcr}</td><td>${hash(h.value)}</td><td>${h.boottime ?? 'not reported'}</td><td>${reportLink(h.reportId)}</td></tr>`)}
</tbody></table>`;
}

function firmwareTable(hits: FirmwareHit[]): SafeHtml {
  return html`<table class="firmware-hits"><thead><tr><th class="num">#</th><th class="num">PCR</th><th>Type</th><th>Boot</th><th>Report</th></tr></thead><tbody>
${hits.map((h) => html`<tr><td class="num"><a href="${links.firmwareEvent(h.hostname, h.reportId, h.entrynum)}">${h.entrynum}</a></td><td class="num">${h.pcr}</td><td>${h.eventtype}</td>
<td>${h.boottime ?? 'not reported'}</td><td>${reportLink(h.reportId)}${h.refused ? badge('fail', 'refused report') : ''}</td></tr>`)}
</tbody></table>`;
}

function results<T extends { hostname: string }>(id: string, title: string, p: SearchPage<T>, table: (hits: T[]) => SafeHtml, echo: Echo, cursorName: string, cursor: string | undefined): SafeHtml {
  const machines = p.machines === 1 ? '1 machine' : `${p.machines} machines`;
  return html`<section id="${id}"><h2>${title}: <span class="count">${machines}</span></h2>
${p.items.length === 0 ? html`<p class="empty">Nothing matches.</p>` : byMachine(p.items, table)}
${pager(cursor ? links.search({ ...echo }) : null, p.next ? links.search({ ...echo, [cursorName]: p.next }) : null)}</section>`;
}

function firmwareResults(r: FirmwareResults, echo: Echo, cursor: string | undefined): SafeHtml {
  return r.kind === 'pcr'
    ? results('firmware-results', 'Machines whose latest verified PCR has this value', r.page, pcrTable, echo, 'fwcursor', cursor)
    : results('firmware-results', 'Firmware events with this digest', r.page, firmwareTable, echo, 'fwcursor', cursor);
}

function echoOf(query: Params): Echo {
  return Object.fromEntries(FIELDS.map((f) => [f, query.string(f)]).filter(([, v]) => v !== undefined));
}

export const searchPage: Handler = async ({ ctx, query }) => {
  const echo = echoOf(query);
  const ima = imaCriteria(query);
  const firmware = firmwareCriteria(query, 'fwcursor');
  const sections: HtmlValue[] = [];
  if (ima) sections.push(results('ima-results', 'IMA entries', await searchIma(ctx, ima), imaTable, echo, 'cursor', ima.cursor));
  if (firmware) sections.push(firmwareResults(await searchFirmware(ctx, firmware), echo, firmware.cursor));
  const body = html`${form(echo)}${sections.length ? sections : html`<p class="muted" id="search-help">Search every machine's stored evidence: a file hash finds every machine that ran the file;
a path with "not this hash" finds the machines whose copy differs; a PCR value finds the machines whose latest verified boot has it.</p>`}`;
  return htmlResponse(page({ title: 'Search', crumbs: [{ label: 'Search' }], body }));
};
