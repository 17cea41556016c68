/** Small pieces every page uses: times, badges, property lists, pagers. */
import type { MachineState, ReportSummary } from '../db/queries.js';
import { html, type HtmlValue, type SafeHtml } from './html.js';
import { flagsOf, outcomeOf, OUTCOME_TEXT, type Verdict } from './report-view.js';
import { links } from './urls.js';

/** "2030-01-02 03:04:05 UTC"; an em dash when unknown. */
export function fmtTime(d: Date | null | undefined): string {
  return d ? `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC` : '—';
}

const SYMBOL: Record<Verdict, string> = { pass: '✓', fail: '✗', warn: '!', none: '–' };

/** A badge whose text says what its colour shows. */
export function badge(verdict: Verdict, text: string): SafeHtml {
  return html`<span class="badge ${verdict}"><span aria-hidden="true">${SYMBOL[verdict]} </span>${text}</span>`;
}

const STATE_VERDICT: Record<MachineState, Verdict> = { trusted: 'pass', failing: 'fail', stale: 'warn', never: 'none' };
export const STATE_TEXT: Record<MachineState, string> = {
  trusted: 'trusted',
  failing: 'failing',
  stale: 'stale',
  never: 'never attested',
};

export function stateBadge(state: MachineState): SafeHtml {
  return badge(STATE_VERDICT[state], STATE_TEXT[state]);
}

export function outcomeBadge(r: ReportSummary): SafeHtml {
  const o = outcomeOf(r);
  return badge(o === 'pass' ? 'pass' : o === 'pending' ? 'none' : 'fail', OUTCOME_TEXT[o]);
}

/** IBM's flags, each as "label: pass/fail". */
export function flagBadges(r: ReportSummary): SafeHtml {
  return html`${flagsOf(r).filter((f) => f.verdict !== 'none').map((f) => badge(f.verdict, `${f.label}: ${f.text}`))}`;
}

export function props(items: readonly (readonly [string, HtmlValue])[]): SafeHtml {
  return html`<dl class="props">${items.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

export function machineLink(hostname: string): SafeHtml {
  return html`<a class="wrap" href="${links.machine(hostname)}">${hostname}</a>`;
}

export function reportLink(id: number): SafeHtml {
  return html`<a href="${links.report(id)}">#${id}</a>`;
}

/** Next/first links for cursor paging. */
export function pager(first: string | null, next: string | null): SafeHtml {
  return html`<nav class="pager" aria-label="Pages">${first ? html`<a href="${first}" rel="first">First page</a>` : ''}${
    next ? html`<a href="${next}" rel="next">Next page →</a>` : html`<span class="muted">End of list</span>`
  }</nav>`;
}

export function hash(value: string | null | undefined): SafeHtml {
  return value ? html`<code class="hash">${value}</code>` : html`<span class="muted">—</span>`;
}
