/**
 * The fleet searches' parameters: file digests with or without an `alg:`
 * prefix, PCR banks and values, times. A malformed value is a 400 naming its
 * parameter, never a query that cannot match.
 *
 * IMA records a file digest as the kernel's hash_algo_name and the digest
 * (ima_template_lib.c, d-ng field "alg:" + digest; the legacy d field is
 * SHA-1), stored as "alg:hex". A digest given without its algorithm matches
 * every algorithm of that size.
 */
import { PCR_BANK_NAMES, PCR_COUNT, type PcrBankName } from '../shared/tpm/pcr-banks.js';
import { BadRequestError, type Params } from './params.js';

/** Digest sizes in bytes of the kernel's hash_algo_name entries IMA may record (crypto/hash_info.c). */
export const IMA_DIGEST_SIZES: Readonly<Record<string, number>> = {
  md4: 16, md5: 16, sha1: 20, rmd160: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64,
  sm3: 32, 'streebog256': 32, 'streebog512': 64, 'sha3-256': 32, 'sha3-384': 48, 'sha3-512': 64,
};

/** The banks stored per PCR (IBM ACS's pcrNNsha256 / pcrNNsha1 columns) and per firmware event, with their digest sizes. */
const BANK_SIZES: Readonly<Record<PcrBankName, number>> = { sha256: 32, sha1: 20 };

const HEX = /^[0-9a-fA-F]+$/;

interface Digest {
  alg: string | undefined;
  hex: string;
}

function splitDigest(name: string, text: string): Digest {
  const colon = text.lastIndexOf(':');
  const alg = colon < 0 ? undefined : text.slice(0, colon).toLowerCase();
  const hex = (colon < 0 ? text : text.slice(colon + 1)).toLowerCase();
  if (!HEX.test(hex) || hex.length % 2 !== 0) throw new BadRequestError(`${name} must be a hex digest, optionally prefixed "alg:"`, name);
  return { alg, hex };
}

/** The stored filehash values an IMA file digest parameter matches, or undefined when absent. */
export function fileDigest(query: Params, name: string): string[] | undefined {
  const text = query.string(name);
  if (text === undefined) return undefined;
  const { alg, hex } = splitDigest(name, text);
  const bytes = hex.length / 2;
  if (alg !== undefined) {
    const size = IMA_DIGEST_SIZES[alg];
    if (size === undefined) throw new BadRequestError(`${name}: unknown digest algorithm ${JSON.stringify(alg)}`, name);
    if (size !== bytes) throw new BadRequestError(`${name}: a ${alg} digest is ${size * 2} hex digits, not ${hex.length}`, name);
    return [`${alg}:${hex}`];
  }
  const algs = Object.entries(IMA_DIGEST_SIZES).filter(([, size]) => size === bytes);
  if (!algs.length) throw new BadRequestError(`${name}: no digest algorithm is ${hex.length} hex digits long`, name);
  return algs.map(([a]) => `${a}:${hex}`);
}

export function bank(query: Params): PcrBankName | undefined {
  return query.oneOf('bank', PCR_BANK_NAMES);
}

/** A PCR or event digest of a bank: the `alg:` prefix, when given, must name that bank. */
export function bankDigest(query: Params, name: string, inBank: PcrBankName | undefined): { bank: PcrBankName; hex: string } | undefined {
  const text = query.string(name);
  if (text === undefined) return undefined;
  const { alg, hex } = splitDigest(name, text);
  if (alg !== undefined && !(PCR_BANK_NAMES as readonly string[]).includes(alg)) {
    throw new BadRequestError(`${name}: unknown bank ${JSON.stringify(alg)}; one of ${PCR_BANK_NAMES.join(', ')}`, name);
  }
  if (alg !== undefined && inBank !== undefined && alg !== inBank) throw new BadRequestError(`${name}: prefix ${alg} contradicts bank ${inBank}`, name);
  const chosen = (alg as PcrBankName | undefined) ?? inBank ?? PCR_BANK_NAMES.find((b) => BANK_SIZES[b] * 2 === hex.length);
  if (chosen === undefined || BANK_SIZES[chosen] * 2 !== hex.length) {
    const want = chosen ? `a ${chosen} digest is ${BANK_SIZES[chosen] * 2} hex digits` : 'digests are 64 (sha256) or 40 (sha1) hex digits';
    throw new BadRequestError(`${name}: ${want}, not ${hex.length}`, name);
  }
  return { bank: chosen, hex };
}

export function pcrIndex(query: Params): number | undefined {
  return query.int('pcr', 0, PCR_COUNT - 1);
}

/** An ISO 8601 date or date-time (UTC unless it says otherwise). */
export function time(query: Params, name: string): Date | undefined {
  const text = query.string(name);
  if (text === undefined) return undefined;
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(text);
  const d = iso ? new Date(iso[1] && !iso[4] ? `${text.replace(' ', 'T')}Z` : text.replace(' ', 'T')) : new Date(NaN);
  // Date rolls 2030-02-31 over into March: the calendar date must exist as written.
  const [y, m, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const calendar = new Date(Date.UTC(y, m - 1, day));
  if (calendar.getUTCFullYear() !== y || calendar.getUTCMonth() !== m - 1 || calendar.getUTCDate() !== day) d.setTime(NaN);
  if (Number.isNaN(d.getTime())) throw new BadRequestError(`${name} must be an ISO 8601 date or time, e.g. 2030-01-31 or 2030-01-31T12:00:00Z`, name);
  return d;
}
