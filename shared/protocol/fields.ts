/**
 * Readers for message members. Every ACS value is a JSON string
 * (PROTOCOL.md); binary values are hex, lowercase on the wire, uppercase
 * accepted. Each reader raises the AcsError IBM's server would answer:
 * missing member 90000005, malformed hex 90000006; wrong type or form is
 * our BAD_VALUE.
 */
import { ACS_ERROR, AcsError } from './errors.js';
import type { JsonObject } from './frame.js';
import { HostnameError, normalizeHostname } from './hostname.js';

/** Bound on free-text members (userid, tpmvendor ...) that have no natural limit. */
export const MAX_TEXT_LENGTH = 255;
/** In a /u pattern a lone surrogate is a code point of category Cs; a valid pair is not. */
const LONE_SURROGATE = /\p{Cs}/u;

/** A required string member. null counts as missing, as it does for IBM's json-c reader. */
export function stringMember(obj: JsonObject, key: string): string {
  const value = Object.hasOwn(obj, key) ? obj[key] : undefined;
  if (value === undefined || value === null) throw new AcsError(ACS_ERROR.JSON_KEY, `missing member "${key}"`);
  if (typeof value !== 'string') throw new AcsError(ACS_ERROR.BAD_VALUE, `member "${key}" is not a string`);
  return value;
}

export function optionalStringMember(obj: JsonObject, key: string): string | undefined {
  const value = Object.hasOwn(obj, key) ? obj[key] : undefined;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AcsError(ACS_ERROR.BAD_VALUE, `member "${key}" is not a string`);
  return value;
}

/**
 * Decode hex. Node's decoder stops silently at the first non-hex pair, so a
 * decoded length short of half the text length means a bad character.
 */
export function hexValue(key: string, text: string): Buffer {
  if (text.length === 0) throw new AcsError(ACS_ERROR.HEXASCII, `member "${key}" is empty`);
  if (text.length % 2 !== 0) throw new AcsError(ACS_ERROR.HEXASCII, `member "${key}" has an odd number of hex digits`);
  const bytes = Buffer.from(text, 'hex');
  if (bytes.length * 2 !== text.length) throw new AcsError(ACS_ERROR.HEXASCII, `member "${key}" is not hex`);
  return bytes;
}

export function hexMember(obj: JsonObject, key: string): Buffer {
  return hexValue(key, stringMember(obj, key));
}

export function optionalHexMember(obj: JsonObject, key: string): Buffer | undefined {
  const text = optionalStringMember(obj, key);
  return text === undefined ? undefined : hexValue(key, text);
}

/**
 * A bounded free-text member: any Unicode characters (it is data), 1..maxLength
 * of them. A lone UTF-16 surrogate (JSON allows "\ud800") is no character:
 * UTF-8 cannot store it, so it would be changed silently on its way to the database.
 */
export function textMember(obj: JsonObject, key: string, maxLength = MAX_TEXT_LENGTH): string {
  const value = stringMember(obj, key);
  if (value.length === 0 || value.length > maxLength) {
    throw new AcsError(ACS_ERROR.BAD_VALUE, `member "${key}" must be 1 to ${maxLength} characters`);
  }
  if (LONE_SURROGATE.test(value)) throw new AcsError(ACS_ERROR.BAD_VALUE, `member "${key}" holds a lone UTF-16 surrogate`);
  return value;
}

/** The hostname member in its normal form (hostname.ts); a name that is no DNS host name is BAD_HOSTNAME. */
export function hostnameMember(obj: JsonObject): string {
  const raw = stringMember(obj, 'hostname');
  try {
    return normalizeHostname(raw);
  } catch (e) {
    if (e instanceof HostnameError) throw new AcsError(ACS_ERROR.BAD_HOSTNAME, e.message);
    throw e;
  }
}

const DECIMAL = /^(?:-?[1-9][0-9]{0,9}|0)$/;

/** A decimal integer sent as a string ("1083", "-1"), within [min, max]. */
export function integerMember(obj: JsonObject, key: string, min: number, max: number): number {
  const text = stringMember(obj, key);
  const value = DECIMAL.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    throw new AcsError(ACS_ERROR.BAD_VALUE, `member "${key}" must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** Lowercase hex, the form every binary member takes on the wire. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
