/** The page shell: title, top navigation, breadcrumbs. No scripts, one stylesheet. */
import { html, type HtmlValue, type SafeHtml } from './html.js';
import { links } from './urls.js';

export interface Crumb {
  label: string;
  /** Omitted for the current page. */
  href?: string;
}

export function page(opts: { title: string; crumbs: Crumb[]; body: HtmlValue }): SafeHtml {
  const crumbs = [{ label: 'Overview', href: links.overview() }, ...opts.crumbs];
  const last = crumbs.length - 1;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · TPM attestation</title>
<link rel="stylesheet" href="${links.stylesheet()}">
</head>
<body>
<header class="top"><span class="brand">TPM attestation</span>
<nav aria-label="Main"><a href="${links.overview()}">Overview</a><a href="${links.machines()}">Machines</a><a href="${links.reports()}">Reports</a><a href="${links.search()}">Search</a><a href="${links.account()}">Account</a></nav>
</header>
<main>
<nav class="crumbs" aria-label="Breadcrumb"><ol>${crumbs.map((c, i) =>
    i === last || !c.href ? html`<li aria-current="page">${c.label}</li>` : html`<li><a href="${c.href}">${c.label}</a></li>`,
  )}</ol></nav>
<h1>${opts.title}</h1>
${opts.body}
</main>
</body>
</html>
`;
}
