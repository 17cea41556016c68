/**
 * The enrolled AK as a verification key, parsed from its stored TPMT_PUBLIC
 * and kept in a bounded cache so quotes do not re-parse it.
 */
import type { KeyObject } from 'node:crypto';
import { publicKeyFromTpm } from '../shared/crypto/keys.js';
import { unmarshalPublic, type TpmPublic } from '../shared/tpm/public.js';

export interface AkKey {
  pub: TpmPublic;
  key: KeyObject;
}

/** Enough for every AK of a large fleet; beyond it the oldest entries are dropped. */
const MAX_ENTRIES = 50_000;
const cache = new Map<string, AkKey>();

/**
 * The enrolled AK's public area and key, parsed once per AK rather than on
 * every quote. Keyed by the stored TPMT_PUBLIC hex, so a re-enrolled AK is a
 * new entry and never served stale.
 */
export function enrolledAk(attestpub: string): AkKey {
  let ak = cache.get(attestpub);
  if (!ak) {
    const pub = unmarshalPublic(Buffer.from(attestpub, 'hex'));
    ak = { pub, key: publicKeyFromTpm(pub) };
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(attestpub, ak);
  }
  return ak;
}
