/**
 * The hostname rule (shared/protocol/hostname.ts): RFC 1123 DNS host names,
 * IDNs as A-labels only, compared without case and one trailing dot; and the
 * escaping every name gets before it is printed.
 */
import t from 'tap';
import { HostnameError, isNormalHostname, normalizeHostname, printableName } from '../../shared/protocol/hostname.js';
import { loadWireFixtures } from '../helpers/acs-wire.js';

t.test('DNS host names are accepted in their normal form: lower case, no trailing dot', async (t) => {
  const cases: [string, string][] = [
    ['client-rsa.test', 'client-rsa.test'],
    ['HOSTA.example', 'hosta.example'],
    ['hostA.example.', 'hosta.example'],
    ['localhost', 'localhost'],
    ['3com.example', '3com.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['XN--BCHER-KVA.Example', 'xn--bcher-kva.example'],
    [`${'a'.repeat(63)}.example`, `${'a'.repeat(63)}.example`],
    [`${'a.'.repeat(126)}b`, `${'a.'.repeat(126)}b`],
    [`${'a.'.repeat(126)}b.`, `${'a.'.repeat(126)}b`],
  ];
  for (const [raw, normal] of cases) {
    t.equal(normalizeHostname(raw), normal, JSON.stringify(raw));
    t.ok(isNormalHostname(normal));
  }
  t.equal(`${'a.'.repeat(126)}b`.length, 253, 'the longest name, 253 octets');
  t.notOk(isNormalHostname('HOSTA.example'));
  t.notOk(isNormalHostname('hosta.example.'));
});

t.test('every hostname in IBM\'s captured frames is accepted as it is', async (t) => {
  const names = new Set<string>();
  for (const fixture of loadWireFixtures()) {
    if (typeof fixture.json.hostname === 'string') names.add(fixture.json.hostname);
  }
  t.ok(names.size > 0, `${[...names].join(', ')}`);
  for (const name of names) t.equal(normalizeHostname(name), name, name);
});

t.test('anything else is refused, saying why without repeating the name', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['CR/LF', 'evil.example\r\nX-Injected: 1', /control/],
    ['NUL', 'a\u0000b.example', /control/],
    ['HTML', '<script>alert(1)</script>', /labels hold/],
    ['a lone surrogate', 'host\ud800.example', /non-ASCII/],
    ['an inner space', 'host a.example', /space/],
    ['a trailing space', 'hosta.example ', /space/],
    ['a tab', 'hosta\t.example', /control/],
    ['a U-label', 'bücher.example', /non-ASCII/],
    ['DEL', 'host\u007f.example', /control/],
    ['an underscore', 'host_a.example', /labels hold/],
    ['a leading hyphen', '-host.example', /hyphen/],
    ['a trailing hyphen', 'host-.example', /hyphen/],
    ['empty', '', /empty/],
    ['a lone dot', '.', /empty/],
    ['two trailing dots', 'hosta.example..', /empty label/],
    ['an empty label', 'hosta..example', /empty label/],
    ['a 64-octet label', `${'a'.repeat(64)}.example`, /longer than 63/],
    ['254 octets', `${'a.'.repeat(126)}bc`, /longer than 253/],
    ['invalid Punycode', 'xn--zz.example', /Punycode/],
    ['SQL', "x'; DROP TABLE machines; --", /space/],
  ];
  for (const [what, raw, reason] of cases) {
    const err = t.throws(() => normalizeHostname(raw), HostnameError, what) as unknown as HostnameError;
    t.match(err.message, reason, `${what}: ${err.message}`);
    if (raw.length > 3) t.notOk(err.message.includes(raw), `${what}: the message does not repeat the name`);
  }
});

t.test('printableName quotes and escapes every unprintable or non-ASCII character', async (t) => {
  t.equal(printableName('plain.example'), '"plain.example"');
  t.equal(printableName('a\r\nb'), '"a\\u000d\\u000ab"');
  t.equal(printableName('\u001b[31mred'), '"\\u001b[31mred"');
  t.equal(printableName('\u009b1m'), '"\\u009b1m"', 'a C1 control (CSI)');
  t.equal(printableName('say "hi"\\'), '"say \\u0022hi\\u0022\\u005c"');
  t.equal(printableName('x\ud800'), '"x\\ud800"');
  t.equal(printableName('ü😀'), '"\\u00fc\\u{1f600}"');
});
