/**
 * Judging IMA entries by a runtime policy, as Keylime's verifier does
 * (keylime/ima/ima.py): an ima-ng/ima-sig/ima entry whose path matches an
 * exclude is skipped; otherwise its file digest must be listed for its path.
 * An ima-buf entry (a key loaded onto a keyring, and the like) is skipped when
 * its keyring is ignored (`ima.ignored_keyrings`, "*" for all); otherwise its
 * digest must be listed in `keyrings` under its name. Pure: no I/O.
 */
import { excludeMatcher, type KeylimeRuntimePolicy } from './runtime-policy.js';

/** What the check needs of one IMA entry. */
export interface ImaEntryFacts {
  entrynum: number;
  template: string;
  /** File path, or the buffer's name for ima-buf. */
  path: string;
  /** The template's file (or buffer) digest as "alg:hex", or null when it has none. */
  filehash: string | null;
}

export interface ImaPolicyViolation {
  entrynum: number;
  path: string;
  reason: string;
}

/** A policy ready to judge entries: lookups by path, the excludes compiled once. */
export interface CompiledImaPolicy {
  name: string;
  digests: Map<string, Set<string>>;
  keyrings: Map<string, Set<string>>;
  ignoredKeyrings: Set<string>;
  exclude: RegExp | null;
}

export function compileImaPolicy(name: string, doc: KeylimeRuntimePolicy): CompiledImaPolicy {
  const sets = (m: Record<string, string[]>) => new Map(Object.entries(m).map(([k, v]) => [k, new Set(v)]));
  return {
    name,
    digests: sets(doc.digests),
    keyrings: sets(doc.keyrings),
    ignoredKeyrings: new Set(doc.ima.ignored_keyrings),
    exclude: excludeMatcher(doc.excludes),
  };
}

function digestHex(filehash: string | null): string | null {
  if (filehash === null) return null;
  return filehash.slice(filehash.lastIndexOf(':') + 1).toLowerCase();
}

/** Why the policy does not allow an entry, or null when it does (or skips it). */
export function imaPolicyReason(policy: CompiledImaPolicy, e: ImaEntryFacts): string | null {
  const hex = digestHex(e.filehash);
  const deny = (why: string) => `not allowed by policy ${policy.name}: ${why}`;
  if (e.template === 'ima-buf') {
    if (policy.ignoredKeyrings.has('*') || policy.ignoredKeyrings.has(e.path)) return null;
    const allowed = policy.keyrings.get(e.path);
    if (!allowed) return deny(`keyring ${e.path} is not in the policy`);
    return hex !== null && allowed.has(hex) ? null : deny(`digest ${hex ?? '(none)'} is not listed for keyring ${e.path}`);
  }
  if (policy.exclude?.test(e.path)) return null;
  const allowed = policy.digests.get(e.path);
  if (!allowed) return deny(`${e.path} is not in the policy`);
  return hex !== null && allowed.has(hex) ? null : deny(`digest ${hex ?? '(none)'} is not listed for ${e.path}`);
}

/** The entries the policy does not allow, each with why. */
export function checkImaPolicy(policy: CompiledImaPolicy, entries: readonly ImaEntryFacts[]): ImaPolicyViolation[] {
  return entries.flatMap((e) => {
    const reason = imaPolicyReason(policy, e);
    return reason === null ? [] : [{ entrynum: e.entrynum, path: e.path, reason }];
  });
}
