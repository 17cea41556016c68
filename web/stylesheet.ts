/** The one stylesheet, served at /static/style.css. System fonts only; state is never shown by colour alone. */
export const STYLESHEET = `
:root { --fg: #1d1f21; --muted: #5f6368; --line: #d9dce0; --bg: #fff; --head: #f3f4f6;
  --pass: #0b6e2e; --pass-bg: #e3f4e8; --fail: #a61b1b; --fail-bg: #fbe5e5; --warn: #7a4b00; --warn-bg: #fdf0d5;
  --none: #4a4f55; --none-bg: #eceef1; --link: #0645ad; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; gap: 1.5rem; align-items: baseline; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line); background: var(--head); }
header.top .brand { font-weight: 600; }
header.top nav a { margin-right: 1rem; }
main { padding: .8rem 1.2rem 2rem; max-width: 1400px; }
a { color: var(--link); }
h1 { font-size: 1.35rem; margin: .4rem 0 .8rem; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 .5rem; }
nav.crumbs ol { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem; color: var(--muted); }
nav.crumbs li + li::before { content: "›"; margin-right: .3rem; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0 1rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--head); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; }
tr.diff td { background: var(--warn-bg); }
code, .mono, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.hash { overflow-wrap: anywhere; word-break: break-all; }
.wrap { overflow-wrap: anywhere; }
pre { background: var(--head); padding: .6rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: .7rem; border: 1px solid; font-size: 12px; white-space: nowrap; margin: 0 .2rem .2rem 0; }
.badge.pass { color: var(--pass); background: var(--pass-bg); }
.badge.fail { color: var(--fail); background: var(--fail-bg); }
.badge.warn { color: var(--warn); background: var(--warn-bg); }
.badge.none { color: var(--none); background: var(--none-bg); }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; margin: .5rem 0 1rem; }
.card { border: 1px solid var(--line); border-radius: .4rem; padding: .6rem 1rem; min-width: 10rem; text-decoration: none; color: inherit; }
.card .count { font-size: 1.8rem; font-weight: 600; display: block; }
form.filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin: .3rem 0 .8rem; }
form.filters fieldset { display: flex; flex-wrap: wrap; gap: .6rem; border: 1px solid var(--line); }
section.machine-hits h3 { font-size: 1rem; margin: .8rem 0 .2rem; overflow-wrap: anywhere; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input, select, button { font: inherit; padding: .2rem .4rem; }
dl.props { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .3rem 0 1rem; }
dl.props dt { color: var(--muted); }
dl.props dd { margin: 0; overflow-wrap: anywhere; }
.pager { display: flex; gap: 1rem; margin: .5rem 0; }
details summary { cursor: pointer; color: var(--link); }
.muted { color: var(--muted); }
ol.steps li { margin: .2rem 0; }
`;
