/**
 * GET /machines/:hostname/compare?boot=A&with=B — two boots of one machine
 * (by default the one before the newest, and the newest);
 * GET /compare?a=HOST1&b=HOST2 — the latest boots of two machines.
 * Both show the PCRs that differ, the firmware events only one side logged,
 * and the IMA files new or changed in the second boot.
 */
import type { StoredBiosEvent } from '../../db/queries.js';
import { badge, hash, machineLink, reportLink } from '../components.js';
import { htmlResponse, type Handler } from '../context.js';
import { html, type SafeHtml } from '../html.js';
import { page } from '../layout.js';
import { compareBoots, IMA_CHANGES_SHOWN, latestBoot, machineBoots, pickBoot, type BootSide, type Comparison } from '../model/compare.js';
import { BadRequestError, bootParam } from '../params.js';
import { links } from '../urls.js';

function sideText(s: BootSide): SafeHtml {
  const host = s.summary.machine.hostname;
  return html`${machineLink(host)}, boot <a href="${links.bioslog(host, { boot: bootParam(s.boot.boottime) })}">${s.boot.boottime ?? 'not reported'}</a>${
    s.reportId === null ? html` ${badge('warn', 'no accepted report')}` : html` (PCRs of report ${reportLink(s.reportId)})`}`;
}

function firmwareTable(id: string, events: StoredBiosEvent[], host: string): SafeHtml {
  if (!events.length) return html`<p class="empty" id="${id}">None.</p>`;
  return html`<table id="${id}"><thead><tr><th class="num">#</th><th class="num">PCR</th><th>Type</th><th>SHA-256</th><th>SHA-1</th><th>Event data</th></tr></thead><tbody>
${events.map((e) => html`<tr><td class="num"><a href="${links.firmwareEvent(host, e.attestationId, e.entrynum)}">${e.entrynum}</a></td><td class="num">${e.pcrindex}</td><td>${e.eventtype}</td>
<td>${hash(e.pcrsha256)}</td><td>${hash(e.pcrsha1)}</td><td class="wrap">${e.event}</td></tr>`)}
</tbody></table>`;
}

function body(c: Comparison): SafeHtml {
  const hostA = c.a.summary.machine.hostname;
  const hostB = c.b.summary.machine.hostname;
  const bootB = bootParam(c.b.boot.boottime);
  return html`<dl class="props"><dt>A</dt><dd id="side-a">${sideText(c.a)}</dd><dt>B</dt><dd id="side-b">${sideText(c.b)}</dd></dl>
<h2>PCRs that differ</h2>
${!c.pcrsCompared ? html`<p class="empty" id="pcr-diff">Not compared: a boot without an accepted report.</p>` : c.pcrs.length === 0 ? html`<p class="empty" id="pcr-diff">None.</p>` : html`<table id="pcr-diff"><thead><tr><th>Bank</th><th class="num">PCR</th><th>A</th><th>B</th></tr></thead><tbody>
${c.pcrs.map((d) => html`<tr class="diff"><td>${d.bank}</td><td class="num">${d.pcr}</td><td>${hash(d.a)}</td><td>${hash(d.b)}</td></tr>`)}
</tbody></table>`}
<h2>Firmware events only in A</h2>
${c.firmwareCompared ? firmwareTable('firmware-only-a', c.firmwareOnlyA, hostA) : html`<p class="empty" id="firmware-only-a">Not compared: a boot without a stored firmware log.</p>`}
<h2>Firmware events only in B</h2>
${c.firmwareCompared ? firmwareTable('firmware-only-b', c.firmwareOnlyB, hostB) : html`<p class="empty" id="firmware-only-b">Not compared.</p>`}
<h2>IMA files new or changed in B</h2>
${c.imaChanges.length === 0 ? html`<p class="empty" id="ima-changes">None.</p>` : html`<table id="ima-changes"><thead><tr><th class="num">#</th><th>File</th><th>File hash</th><th>Template</th><th>Change</th></tr></thead><tbody>
${c.imaChanges.map((e) => html`<tr><td class="num"><a href="${links.imaEntry(hostB, bootB, e.entrynum)}">${e.entrynum}</a></td><td class="wrap">${e.filename}</td><td>${hash(e.filehash)}</td><td>${e.template}</td>
<td>${e.changed ? badge('warn', 'changed') : badge('none', 'new')}</td></tr>`)}
</tbody></table>`}
${c.moreImaChanges ? html`<p class="muted" id="ima-more">The first ${IMA_CHANGES_SHOWN} are shown.</p>` : ''}`;
}

export const compareBootsPage: Handler = async ({ ctx, params, query }) => {
  const m = await machineBoots(ctx, params.hostname!);
  const host = m.summary.machine.hostname;
  const [wantA, wantB] = [query.boot('boot'), query.boot('with')];
  const crumbs = [{ label: 'Machines', href: links.machines() }, { label: host, href: links.machine(host) }, { label: 'Compare boots' }];
  const b = wantB === undefined ? m.boots[0] : pickBoot(m, wantB);
  const a = wantA === undefined ? m.boots.find((x) => x !== b) : pickBoot(m, wantA);
  if (!a || !b) {
    return htmlResponse(page({ title: `Compare boots of ${host}`, crumbs, body: html`<p class="empty" id="compare-empty">${host} has reported fewer than two boots.</p>` }));
  }
  const c = await compareBoots(ctx, { summary: m.summary, boot: a }, { summary: m.summary, boot: b });
  return htmlResponse(page({ title: `Compare boots of ${host}`, crumbs, body: body(c) }));
};

export const compareMachinesPage: Handler = async ({ ctx, query }) => {
  const [hostA, hostB] = [query.string('a'), query.string('b')];
  if (hostA === undefined) throw new BadRequestError('a (the first hostname) is required', 'a');
  if (hostB === undefined) throw new BadRequestError('b (the second hostname) is required', 'b');
  const [ma, mb] = [await machineBoots(ctx, hostA), await machineBoots(ctx, hostB)];
  const c = await compareBoots(ctx, { summary: ma.summary, boot: latestBoot(ma) }, { summary: mb.summary, boot: latestBoot(mb) });
  return htmlResponse(page({ title: 'Compare machines', crumbs: [{ label: 'Machines', href: links.machines() }, { label: 'Compare' }], body: body(c) }));
};
