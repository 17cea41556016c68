/** GET /machines — every machine with its last report; sortable, searchable by hostname, filterable by state. */
import { MACHINE_STATES, type MachineListItem } from '../../db/queries.js';
import { fmtTime, machineLink, outcomeBadge, reportLink, STATE_TEXT, stateBadge } from '../components.js';
import { htmlResponse, stateOptions, type Handler } from '../context.js';
import { html } from '../html.js';
import { page } from '../layout.js';
import { links } from '../urls.js';

const SORTS = ['hostname', 'vendor', 'algorithm', 'enrolled', 'boottime', 'last', 'state'] as const;
type Sort = (typeof SORTS)[number];

const KEY: Record<Sort, (s: MachineListItem) => string | number> = {
  hostname: (s) => s.machine.hostname,
  vendor: (s) => s.machine.tpmvendor,
  algorithm: (s) => `${s.machine.ekAlg} ${s.machine.akAlg}`,
  enrolled: (s) => s.machine.enrolled?.getTime() ?? -1,
  boottime: (s) => s.machine.boottime ?? '',
  last: (s) => s.last?.quoted?.getTime() ?? -1,
  state: (s) => MACHINE_STATES.indexOf(s.state),
};

const HEADINGS: [Sort, string][] = [
  ['hostname', 'Hostname'], ['vendor', 'TPM vendor'], ['algorithm', 'EK / AK'], ['enrolled', 'Enrolled'],
  ['boottime', 'Boot time'], ['last', 'Last report'], ['state', 'State'],
];

export const machinesPage: Handler = async ({ ctx, query }) => {
  const sort = query.oneOf('sort', SORTS) ?? 'hostname';
  const dir = query.oneOf('dir', ['asc', 'desc'] as const) ?? 'asc';
  const search = query.string('q');
  const state = query.machineState();
  const all = await ctx.data.machines({ ...stateOptions(ctx), state });
  const needle = search?.toLowerCase();
  const shown = (needle ? all.filter((s) => s.machine.hostname.toLowerCase().includes(needle)) : all).slice();
  const key = KEY[sort];
  shown.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    const c = x < y ? -1 : x > y ? 1 : a.machine.hostname < b.machine.hostname ? -1 : 1;
    return dir === 'asc' ? c : -c;
  });
  const here = { q: search, state };
  const heading = ([col, label]: [Sort, string]) => {
    const active = col === sort;
    const next = active && dir === 'asc' ? 'desc' : 'asc';
    return html`<th aria-sort="${active ? (dir === 'asc' ? 'ascending' : 'descending') : 'none'}"><a href="${links.machines({ ...here, sort: col, dir: next })}">${label}${active ? (dir === 'asc' ? ' ▲' : ' ▼') : ''}</a></th>`;
  };
  const body = html`
<form class="filters" method="get" action="${links.machines()}" role="search">
  <label>Hostname contains <input type="search" name="q" value="${search ?? ''}"></label>
  <label>State <select name="state"><option value="">any</option>${MACHINE_STATES.map((s) => html`<option value="${s}"${s === state ? html` selected` : ''}>${STATE_TEXT[s]}</option>`)}</select></label>
  <input type="hidden" name="sort" value="${sort}"><input type="hidden" name="dir" value="${dir}">
  <button type="submit">Filter</button>
</form>
<p class="muted" id="count">${shown.length} of ${all.length} machines</p>
<table id="machines"><thead><tr>${HEADINGS.map(heading)}<th>Result</th></tr></thead><tbody>
${shown.map((s) => html`<tr data-hostname="${s.machine.hostname}">
<td>${machineLink(s.machine.hostname)}</td><td>${s.machine.tpmvendor}</td><td>${s.machine.ekAlg} / ${s.machine.akAlg}</td>
<td>${s.machine.enrolled ? fmtTime(s.machine.enrolled) : 'enrolling'}</td><td>${s.machine.boottime ?? '—'}</td>
<td>${s.last ? html`${reportLink(s.last.id)} ${fmtTime(s.last.quoted)}` : '—'}</td><td>${stateBadge(s.state)}</td>
<td>${s.last ? outcomeBadge(s.last) : ''}</td></tr>`)}
</tbody></table>`;
  return htmlResponse(page({ title: 'Machines', crumbs: [{ label: 'Machines' }], body }));
};
