import t from 'tap';
import { escapeHtml, html, joinHtml, SafeHtml } from '../../web/html.js';
import { matchRoute } from '../../web/routes.js';
import { links } from '../../web/urls.js';
import { BadRequestError } from '../../web/params.js';

const HOSTILE = `<img src=x onerror=alert(1)>'; DROP TABLE machines; --`;

t.test('every interpolation is escaped unless it is a fragment', async (t) => {
  t.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  const inner = html`<b>${'<i>'}</b>`;
  t.equal(html`<p title="${HOSTILE}">${HOSTILE}</p>`.text,
    '<p title="&lt;img src=x onerror=alert(1)&gt;&#39;; DROP TABLE machines; --">&lt;img src=x onerror=alert(1)&gt;&#39;; DROP TABLE machines; --</p>');
  t.equal(html`<div>${inner}</div>`.text, '<div><b>&lt;i&gt;</b></div>', 'fragments pass through once');
  t.equal(html`${['<x>', inner, null, undefined, false, 0]}`.text, '&lt;x&gt;<b>&lt;i&gt;</b>0', 'arrays render each item; nullish and false vanish');
  t.equal(joinHtml(['a<', html`<br>`], ' & ').text, 'a&lt; &amp; <br>');
  t.ok(inner instanceof SafeHtml);
});

t.test('hostnames survive a round trip through links and the router', async (t) => {
  for (const host of [HOSTILE, 'a/b', 'x?y#z', '100%', 'ünïcode.example', '..']) {
    const m = matchRoute(links.bioslog(host).split('?')[0]!);
    t.equal(m?.params.hostname, host, JSON.stringify(host));
  }
  t.equal(matchRoute('/machines/a/b'), undefined, 'a raw slash is a different path');
  t.equal(matchRoute('/nope'), undefined);
  t.throws(() => matchRoute('/machines/%E0%A4%A'), BadRequestError);
});
