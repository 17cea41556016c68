/**
 * Reference-value policies as plain values: Keylime runtime policy parsing
 * and its errors, sha256sum allow-lists, exclude lists, the IMA check (a
 * missing digest names exactly that entry, excludes skip, ima-buf keyrings),
 * and reference PCR values as the banks the PCR comparison takes.
 */
import t from 'tap';
import { checkImaPolicy, compileImaPolicy, type ImaEntryFacts } from '../../server/policy/ima-policy-check.js';
import { referenceFromWhitelist, referencePcrBanks } from '../../server/policy/reference-values.js';
import { pcrDepartures } from '../../shared/tpm/pcr-banks.js';
import {
  PolicyFormatError, excludeMatcher, parseAllowList, parseExcludeList, parseKeylimePolicy, parseRuntimePolicyFile, withExcludes,
} from '../../server/policy/runtime-policy.js';

const H = (c: string) => c.repeat(64);
/** As `keylime-policy create runtime` writes it. */
const KEYLIME = JSON.stringify({
  meta: { version: 1, generator: 3, timestamp: '2026-12-01 10:00:00' },
  release: 0,
  digests: { boot_aggregate: [H('0')], '/usr/bin/bash': [H('a'), H('A')], '/usr/bin/ls': [H('b')] },
  excludes: ['/tmp/.*', '(?P<dir>/var/log)/.*'],
  keyrings: { '.ima': [H('c')] },
  ima: { ignored_keyrings: ['.builtin_trusted_keys'], log_hash_alg: 'sha1', dm_policy: null },
  'ima-buf': {},
  'verification-keys': '',
});

const entry = (entrynum: number, path: string, digest: string | null, template = 'ima-sig'): ImaEntryFacts => ({
  entrynum, path, template, filehash: digest === null ? null : `sha256:${digest}`,
});

t.test('a Keylime runtime policy parses, digests lowered, unknown members kept', async (t) => {
  const p = parseKeylimePolicy(KEYLIME);
  t.same(p.digests['/usr/bin/bash'], [H('a'), H('a')]);
  t.equal(p.release, 0);
  t.same(p.ima.ignored_keyrings, ['.builtin_trusted_keys']);
  t.equal(parseRuntimePolicyFile(`  ${KEYLIME}`).meta.version, 1, 'a JSON file is read as Keylime format');
});

t.test('bad policies are refused with the place that is wrong', async (t) => {
  const bad = (doc: unknown, msg: RegExp) => t.throws(() => parseKeylimePolicy(JSON.stringify(doc)), { name: 'PolicyFormatError', message: msg });
  t.throws(() => parseKeylimePolicy('{'), PolicyFormatError);
  bad([], /JSON object/);
  bad({ digests: {} }, /meta.version/);
  bad({ meta: { version: 1 } }, /digests/);
  bad({ meta: { version: 1 }, digests: { '/x': ['zz'] } }, /digests\["\/x"\]\[0\]/);
  bad({ meta: { version: 1 }, digests: { '/x': 'aa' } }, /list of hex/);
  bad({ meta: { version: 1 }, digests: {}, excludes: ['(unclosed'] }, /excludes\[0\].*not a valid regular expression/);
  bad({ meta: { version: 1 }, digests: {}, ima: { log_hash_alg: 'md5' } }, /log_hash_alg/);
});

t.test('allow-lists (sha256sum output) and exclude lists', async (t) => {
  const list = parseAllowList(`# made by sha256sum\n${H('a')}  /usr/bin/bash\n${H('b')} */usr/bin/with space\n\n${H('c')}  /usr/bin/bash\n`);
  t.same(list, { '/usr/bin/bash': [H('a'), H('c')], '/usr/bin/with space': [H('b')] });
  t.throws(() => parseAllowList('abc /x'), /line 1/);
  t.same(parseRuntimePolicyFile(`${H('a')}  /x\n`).digests, { '/x': [H('a')] });
  t.same(parseExcludeList('# comment\n^/tmp/\n/var/cache/.*\n'), ['^/tmp/', '/var/cache/.*']);
  t.throws(() => parseExcludeList('[a-\n'), PolicyFormatError);
  const merged = withExcludes(parseKeylimePolicy(KEYLIME), ['/tmp/.*', '/run/.*']);
  t.same(merged.excludes, ['/tmp/.*', '(?P<dir>/var/log)/.*', '/run/.*']);
});

t.test('excludes match at the start of the path, as Python re.match does', async (t) => {
  const re = excludeMatcher(['/tmp/.*', '(?P<dir>/var/log)/.*'])!;
  t.ok(re.test('/tmp/x'));
  t.ok(re.test('/var/log/messages'));
  t.notOk(re.test('/home/tmp/x'), 'anchored at the start');
  t.equal(excludeMatcher([]), null);
});

t.test('the IMA check names exactly the entries a policy does not allow', async (t) => {
  const policy = compileImaPolicy('base', parseKeylimePolicy(KEYLIME));
  const entries = [
    entry(0, 'boot_aggregate', H('0')),
    entry(1, '/usr/bin/bash', H('a')),
    entry(2, '/usr/bin/ls', H('d')),
    entry(3, '/usr/bin/evil', H('e')),
    entry(4, '/tmp/anything', H('f')),
    entry(5, '/var/log/x', H('f')),
    entry(6, '.ima', H('c'), 'ima-buf'),
    entry(7, '.builtin_trusted_keys', H('9'), 'ima-buf'),
    entry(8, '.platform', H('9'), 'ima-buf'),
    entry(9, '/usr/bin/ls', null),
  ];
  t.same(checkImaPolicy(policy, entries), [
    { entrynum: 2, path: '/usr/bin/ls', reason: `not allowed by policy base: digest ${H('d')} is not listed for /usr/bin/ls` },
    { entrynum: 3, path: '/usr/bin/evil', reason: 'not allowed by policy base: /usr/bin/evil is not in the policy' },
    { entrynum: 8, path: '.platform', reason: 'not allowed by policy base: keyring .platform is not in the policy' },
    { entrynum: 9, path: '/usr/bin/ls', reason: 'not allowed by policy base: digest (none) is not listed for /usr/bin/ls' },
  ]);
  const all = compileImaPolicy('all', { ...parseKeylimePolicy(KEYLIME), ima: { ignored_keyrings: ['*'], log_hash_alg: 'sha1' } });
  t.same(checkImaPolicy(all, [entry(8, '.platform', H('9'), 'ima-buf')]), [], '"*" ignores every keyring');
});

t.test('reference values: each departing PCR with both values', async (t) => {
  const banks = { sha256: Array<string | null>(24).fill(null), sha1: Array<string | null>(24).fill(null) };
  for (let p = 0; p < 11; p++) banks.sha256[p] = H(String(p % 10));
  const ref = referenceFromWhitelist(banks, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'white list of a.test');
  t.same(Object.keys(ref.pcrs.sha256!), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], 'firmware PCRs only');
  t.notOk(ref.pcrs.sha1, 'no empty bank');
  const firmware = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  t.same(pcrDepartures(banks, referencePcrBanks(ref), firmware), []);
  t.equal(referencePcrBanks(ref).sha256[10], null, 'PCR 10 is not a reference value');
  const other = { ...banks, sha256: banks.sha256.map((v, p) => (p === 4 || p === 7 ? H('f') : v)) };
  t.same(pcrDepartures(other, referencePcrBanks(ref), firmware), [
    { bank: 'sha256', pcr: 4, expected: H('4'), found: H('f') },
    { bank: 'sha256', pcr: 7, expected: H('7'), found: H('f') },
  ]);
  t.throws(() => referenceFromWhitelist({ sha256: Array(24).fill(null), sha1: Array(24).fill(null) }, [0], 'empty'), PolicyFormatError);
});
