/** GET /machines/:hostname (and its certificates as PEM) — one machine: certificates, white list, reports, boots. */
import type { PcrBanks } from '../../db/store.js';
import type { CertificateResult } from '../certificate-view.js';
import { badge, flagBadges, fmtTime, hash, outcomeBadge, props, reportLink, stateBadge } from '../components.js';
import { download, htmlResponse, type Handler } from '../context.js';
import { html, type SafeHtml } from '../html.js';
import { page } from '../layout.js';
import { loadMachineDetail, requireMachine, type MachineDetail } from '../model/machine.js';
import { bootParam, NotFoundError } from '../params.js';
import { diagnosisOf } from '../report-view.js';
import { apiLinks, links } from '../urls.js';

function certificateSection(title: string, hostname: string, which: 'ek' | 'ak', c: CertificateResult | null): SafeHtml {
  if (c === null) return html`<h2>${title}</h2><p>${badge('none', 'no certificate issued yet')}</p>`;
  if (!c.ok) return html`<h2>${title}</h2><p>${badge('fail', c.error)}</p><pre>${c.pem}</pre>`;
  const cert = c.cert;
  return html`<section id="${which}-certificate"><h2>${title}</h2>
${props([
    ['Subject', cert.subject],
    ['Issuer', cert.issuer],
    ['Serial number', html`<code>${cert.serialNumber}</code>`],
    ['Valid from', cert.notBefore],
    ['Valid to', cert.notAfter],
    ['Public key', cert.publicKey],
    ['Key SHA-256', hash(cert.publicKeyFingerprint)],
    ['Signature', cert.signatureAlgorithm],
    ['Certificate SHA-256', hash(cert.fingerprint)],
  ])}
<table class="extensions"><thead><tr><th>Extension</th><th>Critical</th><th>Value</th></tr></thead><tbody>
${cert.extensions.map((e) => html`<tr><td>${e.name} <span class="muted">${e.oid}</span></td><td>${e.critical ? 'critical' : 'no'}</td><td class="wrap">${e.value}</td></tr>`)}
</tbody></table>
<p><a href="${links.certificatePem(hostname, which)}" download>Download PEM</a></p>
<details><summary>PEM</summary><pre>${cert.pem}</pre></details></section>`;
}

function whitelistTable(w: PcrBanks | null): SafeHtml {
  if (!w) return html`<p>${badge('none', 'no white list yet: set by the first verified quote')}</p>`;
  const rows = (['sha256', 'sha1'] as const).flatMap((bank) =>
    w[bank].flatMap((v, pcr) => (v === null ? [] : [html`<tr><td>${bank}</td><td class="num">${pcr}</td><td>${hash(v)}</td></tr>`])),
  );
  return html`<table id="whitelist"><thead><tr><th>Bank</th><th class="num">PCR</th><th>Value</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function body(d: MachineDetail): SafeHtml {
  const m = d.summary.machine;
  const last = d.summary.last;
  const imaByBoot = new Map(d.imaBoots.map((b) => [b.boottime, b]));
  return html`
${props([
    ['State', stateBadge(d.summary.state)],
    ['TPM vendor', m.tpmvendor],
    ['EK algorithm', m.ekAlg],
    ['AK algorithm', m.akAlg],
    ['AK name', hash(m.akName)],
    ['EK key SHA-256', hash(m.ekFingerprint)],
    ['Enrolled', m.enrolled ? fmtTime(m.enrolled) : badge('none', 'enrollment pending')],
    ['Boot time (host-reported)', m.boottime ?? '—'],
    ['Last report', last ? html`${reportLink(last.id)} ${fmtTime(last.quoted)} ${outcomeBadge(last)}` : badge('none', 'never attested')],
  ])}
<p><a href="${links.reports({ hostname: m.hostname })}">All reports</a> · <a href="${links.bioslog(m.hostname)}">Firmware log</a> ·
<a href="${links.imalog(m.hostname)}">IMA log</a> · <a href="${apiLinks.machine(m.hostname)}">JSON</a></p>
<h2>Attestation timeline</h2>
${d.recent.length === 0 ? html`<p>${badge('none', 'no reports')}</p>` : html`<table id="timeline"><thead><tr><th>Report</th><th>Quoted</th><th>Boot time</th><th>Outcome</th><th>Diagnosis</th><th>Flags</th></tr></thead><tbody>
${d.recent.map((r) => html`<tr data-report="${r.id}"><td>${reportLink(r.id)}</td><td>${fmtTime(r.quoted)}${r.newBoot ? html` ${badge('none', 'new boot')}` : ''}</td><td>${r.boottime ?? '—'}</td><td>${outcomeBadge(r)}</td>
<td class="wrap diagnosis">${r.diagnosis ?? diagnosisOf(r, null).summary}</td><td>${flagBadges(r)}</td></tr>`)}
</tbody></table>${d.moreReports ? html`<p><a href="${links.reports({ hostname: m.hostname })}">Older reports</a></p>` : ''}`}
<h2>Boots</h2>
${d.boots.length === 0 ? html`<p>${badge('none', 'no boots reported')}</p>` : html`<table id="boots"><thead><tr><th>Boot time</th><th class="num">Reports</th><th class="num">Refused</th><th>First</th><th>Last</th><th>Firmware log</th><th>IMA log</th></tr></thead><tbody>
${d.boots.map((b) => {
    const ima = imaByBoot.get(b.boottime);
    return html`<tr><td>${b.boottime ?? 'not reported'}</td><td class="num">${b.reports}</td><td class="num">${b.failed}</td><td>${fmtTime(b.firstQuoted)}</td><td>${fmtTime(b.lastQuoted)}</td>
<td>${b.biosAttestationId === null ? html`<span class="muted">none stored</span>` : html`<a href="${links.bioslog(m.hostname, { boot: bootParam(b.boottime) })}">events</a>`}</td>
<td>${ima ? html`<a href="${links.imalog(m.hostname, { boot: bootParam(b.boottime) })}">${ima.events} entries</a>${ima.problems ? html` ${badge('warn', `${ima.problems} with problems`)}` : ''}` : html`<span class="muted">none</span>`}</td></tr>`;
  })}
</tbody></table>${d.boots.length > 1 ? html`<p><a id="compare-boots" href="${links.compareBoots(m.hostname)}">Compare the last two boots</a></p>` : ''}`}
<h2>PCR white list</h2>
${whitelistTable(m.whitelist)}
${certificateSection('EK certificate', m.hostname, 'ek', d.ek)}
${certificateSection('AK certificate', m.hostname, 'ak', d.ak)}
`;
}

export const machinePage: Handler = async ({ ctx, params }) => {
  const d = await loadMachineDetail(ctx, params.hostname!);
  const hostname = d.summary.machine.hostname;
  return htmlResponse(page({ title: hostname, crumbs: [{ label: 'Machines', href: links.machines() }, { label: hostname }], body: body(d) }));
};

export function certificatePem(which: 'ek' | 'ak'): Handler {
  return async ({ ctx, params }) => {
    const m = (await requireMachine(ctx, params.hostname!)).machine;
    const pem = which === 'ek' ? m.ekcertificatepem : m.akcertificatepem;
    if (!pem) throw new NotFoundError(`${JSON.stringify(m.hostname)} has no ${which.toUpperCase()} certificate`);
    return download(pem, 'application/x-pem-file', `${m.hostname}-${which}.pem`);
  };
}
