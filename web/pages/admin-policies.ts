/**
 * GET /admin/policies: the reference-value policies (IMA runtime policies
 * and measured-boot reference values), which is the default for new
 * machines, and every hostname's assignment; GET /admin/policies/:name: one
 * policy's content and hostnames. Admin only (web/routes.ts). Policies are
 * changed with `acs-server policy …` on the database.
 */
import { htmlResponse, type Handler } from '../context.js';
import { fmtTime } from '../components.js';
import { html } from '../html.js';
import { page } from '../layout.js';
import { NotFoundError } from '../params.js';
import { links } from '../urls.js';

const KIND_TEXT = { ima: 'IMA runtime policy', pcr: 'measured-boot reference values' } as const;

export const policiesPage: Handler = async ({ ctx }) => {
  const policies = ctx.policies;
  if (!policies) throw new NotFoundError('this server keeps no policies');
  const [list, assignments] = await Promise.all([policies.list(), policies.assignments()]);
  const body = html`<p class="muted">Import, assign and remove policies with <code>acs-server policy …</code> (see the README).</p>
<table id="policies"><thead><tr><th>Name</th><th>Kind</th><th>Assigned</th><th>Default for new machines</th><th>Updated</th></tr></thead><tbody>
${list.map(
  (p) => html`<tr><td><a href="${links.policy(p.name)}">${p.name}</a></td><td>${KIND_TEXT[p.kind]}</td><td>${p.assigned}</td><td>${p.isDefault ? 'yes' : ''}</td><td>${fmtTime(p.updatedAt)}</td></tr>`,
)}
</tbody></table>
${list.length === 0 ? html`<p id="no-policies">No policies: machines are judged by their own white list from their first quote.</p>` : ''}
<h2>Assignments</h2>
<table id="assignments"><thead><tr><th>Machine</th><th>Kind</th><th>Policy</th><th>Since</th></tr></thead><tbody>
${assignments.map(
  (a) => html`<tr><td><a href="${links.machine(a.hostname)}">${a.hostname}</a></td><td>${KIND_TEXT[a.kind]}</td><td><a href="${links.policy(a.policyName)}">${a.policyName}</a></td><td>${fmtTime(a.createdAt)}</td></tr>`,
)}
</tbody></table>`;
  return htmlResponse(page({ title: 'Policies', crumbs: [{ label: 'Policies' }], body }));
};

export const policyPage: Handler = async ({ ctx, params }) => {
  const policies = ctx.policies;
  if (!policies) throw new NotFoundError('this server keeps no policies');
  const name = params.name!;
  const [p, assignments] = await Promise.all([policies.byName(name), policies.assignments()]);
  if (!p) throw new NotFoundError(`no policy named ${name}`);
  const hosts = assignments.filter((a) => a.policyName === p.name).map((a) => a.hostname);
  const body = html`<dl class="props">
<dt>Kind</dt><dd id="policy-kind">${KIND_TEXT[p.kind]}</dd>
<dt>Default for new machines</dt><dd>${p.isDefault ? 'yes' : 'no'}</dd>
<dt>Created</dt><dd>${fmtTime(p.createdAt)}</dd>
<dt>Updated</dt><dd>${fmtTime(p.updatedAt)}</dd>
<dt>Assigned to</dt><dd id="policy-hosts">${hosts.length ? hosts.map((h, i) => html`${i ? ', ' : ''}<a href="${links.machine(h)}">${h}</a>`) : 'no machine'}</dd>
</dl>
<h2>Content</h2>
<pre id="policy-body">${JSON.stringify(JSON.parse(p.body), null, 2)}</pre>`;
  return htmlResponse(page({ title: `Policy ${p.name}`, crumbs: [{ label: 'Policies', href: links.policies() }, { label: p.name }], body }));
};
