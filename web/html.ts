/**
 * HTML built by construction: every value interpolated into an html`…`
 * template is escaped unless it is already a SafeHtml fragment (the result of
 * another html`…`). Hostnames, file names, event data and every other stored
 * string are client data, so nothing reaches a page without passing here.
 */

/** A fragment of HTML that is already safe to emit. Only html`…` and the helpers below make one. */
export class SafeHtml {
  /** Private by convention: construct through html`…`. */
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and for quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Interpolated values: fragments pass, arrays concatenate, null/undefined/false vanish, the rest is escaped text. */
export type HtmlValue = SafeHtml | string | number | bigint | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.text;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** The template tag: literal parts are trusted markup, interpolations are escaped. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Joins fragments with a separator (itself escaped unless safe). */
export function joinHtml(items: readonly HtmlValue[], separator: HtmlValue = ''): SafeHtml {
  return new SafeHtml(items.map(render).join(render(separator)));
}
