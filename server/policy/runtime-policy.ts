/**
 * IMA runtime policies in Keylime's format (the JSON `keylime-policy create
 * runtime` writes): `meta.version`, `digests: { path: [hex, …] }`,
 * `excludes: [regex, …]`, `keyrings: { name: [hex, …] }`,
 * `ima: { ignored_keyrings, log_hash_alg, dm_policy }`, `ima-buf`,
 * `verification-keys`. Also the plain forms Keylime's older tools take: an
 * allow-list of `HASH  PATH` lines (sha256sum output) and an exclude list of
 * one regular expression a line. Every form is checked here and turned into
 * one normalized Keylime document, the form stored and shown.
 */

export interface KeylimeRuntimePolicy {
  meta: { version: number; [k: string]: unknown };
  release?: number;
  digests: Record<string, string[]>;
  excludes: string[];
  keyrings: Record<string, string[]>;
  ima: { ignored_keyrings: string[]; log_hash_alg: string; dm_policy?: unknown };
  'ima-buf': Record<string, string[]>;
  'verification-keys': string;
}

/** A policy file that cannot be used, with the place that is wrong. */
export class PolicyFormatError extends Error {
  override name = 'PolicyFormatError';
}

const HEX_DIGEST = /^(?:[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})$/;
const LOG_HASH_ALGS = ['sha1', 'sha256', 'sha384', 'sha512'];

export function emptyRuntimePolicy(): KeylimeRuntimePolicy {
  return { meta: { version: 1 }, digests: {}, excludes: [], keyrings: {}, ima: { ignored_keyrings: [], log_hash_alg: 'sha1' }, 'ima-buf': {}, 'verification-keys': '' };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function digestList(v: unknown, where: string): string[] {
  if (!Array.isArray(v)) throw new PolicyFormatError(`${where} must be a list of hex digests`);
  return v.map((d, i) => {
    const hex = typeof d === 'string' ? d.toLowerCase() : '';
    if (!HEX_DIGEST.test(hex)) throw new PolicyFormatError(`${where}[${i}] is not a SHA-1/256/384/512 hex digest`);
    return hex;
  });
}

function digestMap(v: unknown, where: string): Record<string, string[]> {
  if (v === undefined) return {};
  if (!isObject(v)) throw new PolicyFormatError(`${where} must be an object of lists`);
  const out: Record<string, string[]> = {};
  for (const [k, list] of Object.entries(v)) out[k] = digestList(list, `${where}[${JSON.stringify(k)}]`);
  return out;
}

function stringList(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new PolicyFormatError(`${where} must be a list of strings`);
  return v as string[];
}

/** Python `re` syntax Keylime's regexes may use, in JavaScript's spelling: named groups and back-references. */
export function pythonRegexSource(source: string): string {
  return source.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
}

/**
 * Keylime joins the excludes into "(a)|(b)|…" and tests each path with
 * Python's re.match, anchored at the start only; the same here.
 */
export function excludeMatcher(excludes: readonly string[]): RegExp | null {
  if (excludes.length === 0) return null;
  return new RegExp(`^(?:${excludes.map((e) => `(?:${pythonRegexSource(e)})`).join('|')})`);
}

function checkedExcludes(list: string[], where: string): string[] {
  list.forEach((e, i) => {
    try {
      new RegExp(pythonRegexSource(e));
    } catch (err) {
      throw new PolicyFormatError(`${where}[${i}] ${JSON.stringify(e)} is not a valid regular expression: ${(err as Error).message}`);
    }
  });
  return list;
}

/** Parses and checks a Keylime runtime policy document. */
export function parseKeylimePolicy(text: string): KeylimeRuntimePolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PolicyFormatError(`not JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new PolicyFormatError('the policy must be a JSON object');
  if (!isObject(doc.meta) || !Number.isInteger(doc.meta.version) || (doc.meta.version as number) < 1) {
    throw new PolicyFormatError('meta.version must be a positive integer (a Keylime runtime policy)');
  }
  if (!isObject(doc.digests)) throw new PolicyFormatError('digests must be an object of path → [hex, …]');
  const ima = doc.ima === undefined ? {} : doc.ima;
  if (!isObject(ima)) throw new PolicyFormatError('ima must be an object');
  const logHashAlg = ima.log_hash_alg === undefined ? 'sha1' : ima.log_hash_alg;
  if (typeof logHashAlg !== 'string' || !LOG_HASH_ALGS.includes(logHashAlg)) {
    throw new PolicyFormatError(`ima.log_hash_alg must be one of ${LOG_HASH_ALGS.join(', ')}`);
  }
  const keys = doc['verification-keys'] ?? '';
  if (typeof keys !== 'string') throw new PolicyFormatError('verification-keys must be a string');
  return {
    ...(doc as object),
    meta: doc.meta as KeylimeRuntimePolicy['meta'],
    digests: digestMap(doc.digests, 'digests'),
    excludes: checkedExcludes(stringList(doc.excludes, 'excludes'), 'excludes'),
    keyrings: digestMap(doc.keyrings, 'keyrings'),
    ima: { ...ima, ignored_keyrings: stringList(ima.ignored_keyrings, 'ima.ignored_keyrings'), log_hash_alg: logHashAlg },
    'ima-buf': digestMap(doc['ima-buf'], 'ima-buf'),
    'verification-keys': keys,
  };
}

function contentLines(text: string): { line: string; n: number }[] {
  return text
    .split('\n')
    .map((raw, i) => ({ line: raw.replace(/\r$/, ''), n: i + 1 }))
    .filter(({ line }) => line.trim() !== '' && !line.trimStart().startsWith('#'));
}

/**
 * An allow-list of `HASH  PATH` lines as sha256sum (or sha1sum …) prints them:
 * two spaces, or a space and '*' in binary mode; the path is the rest of the line.
 */
export function parseAllowList(text: string): Record<string, string[]> {
  const digests: Record<string, string[]> = {};
  for (const { line, n } of contentLines(text)) {
    const m = /^([0-9a-fA-F]+) [ *](.+)$/.exec(line);
    if (!m || !HEX_DIGEST.test(m[1]!.toLowerCase())) throw new PolicyFormatError(`line ${n}: expected "HASH  PATH"`);
    const list = (digests[m[2]!] ??= []);
    const hex = m[1]!.toLowerCase();
    if (!list.includes(hex)) list.push(hex);
  }
  return digests;
}

/** One regular expression a line. */
export function parseExcludeList(text: string): string[] {
  return checkedExcludes(contentLines(text).map(({ line }) => line), 'exclude list line');
}

/** A policy from a file's text: Keylime JSON when it is a JSON object, else an allow-list. */
export function parseRuntimePolicyFile(text: string): KeylimeRuntimePolicy {
  if (text.trimStart().startsWith('{')) return parseKeylimePolicy(text);
  return { ...emptyRuntimePolicy(), digests: parseAllowList(text) };
}

/** Adds exclude regexes (from an exclude list) to a policy. */
export function withExcludes(policy: KeylimeRuntimePolicy, excludes: readonly string[]): KeylimeRuntimePolicy {
  return { ...policy, excludes: [...policy.excludes, ...excludes.filter((e) => !policy.excludes.includes(e))] };
}
