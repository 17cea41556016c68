/**
 * Hostnames: a machine's name as clients send it and as the privacy CA
 * writes it into the AK certificate's CN. Only DNS host names are accepted
 * (RFC 1123 §2.1 labels: letters, digits and inner hyphens, 1-63 octets each,
 * the whole name at most 253 octets, RFC 1035 §2.3.4). Internationalized
 * names travel as A-labels ("xn--bcher-kva.example", RFC 5890 §2.3.2.1); a
 * U-label or any other non-ASCII character is refused rather than converted,
 * so one machine has one spelling. Names compare as DNS does, ignoring case
 * and one trailing dot (RFC 4343, RFC 1034 §3.1): the normal form is lower
 * case without the dot.
 */
import { domainToUnicode } from 'node:url';

export const MAX_HOSTNAME_OCTETS = 253;
const MAX_LABEL_OCTETS = 63;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;

/** A name that is not a DNS host name; the message says why without repeating the name. */
export class HostnameError extends Error {
  override name = 'HostnameError';
}

/** The normal form of a DNS host name: lower case, no trailing dot. Throws HostnameError for anything else. */
export function normalizeHostname(raw: string): string {
  const name = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  if (name.length === 0) throw new HostnameError('hostname is empty');
  if (!PRINTABLE_ASCII.test(name)) {
    throw new HostnameError('hostname holds a space, a control or a non-ASCII character (send an IDN as its xn-- A-labels)');
  }
  if (name.length > MAX_HOSTNAME_OCTETS) throw new HostnameError(`hostname is longer than ${MAX_HOSTNAME_OCTETS} octets`);
  const lower = name.toLowerCase();
  for (const label of lower.split('.')) {
    if (label.length === 0) throw new HostnameError('hostname has an empty label');
    if (label.length > MAX_LABEL_OCTETS) throw new HostnameError(`hostname has a label longer than ${MAX_LABEL_OCTETS} octets`);
    if (!LABEL.test(label)) throw new HostnameError('hostname labels hold letters, digits and hyphens, and neither start nor end with a hyphen');
    if (label.startsWith('xn--') && domainToUnicode(label) === '') throw new HostnameError('hostname has an xn-- label that is not valid Punycode');
  }
  return lower;
}

/** True when `name` is already a hostname in normal form. */
export function isNormalHostname(name: string): boolean {
  try {
    return normalizeHostname(name) === name;
  } catch (e) {
    if (e instanceof HostnameError) return false;
    throw e;
  }
}

/**
 * Text safe to print on a terminal or in a log line: printable ASCII stays,
 * everything else (control characters, C1 codes, non-ASCII) becomes a \u escape.
 */
export function escapeUnprintable(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code >= 0x20 && code < 0x7f && ch !== '\\') out += ch;
    else out += code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return out;
}

/** A name for a message: quoted, with quotes and unprintable characters escaped. */
export function printableName(text: string): string {
  return `"${escapeUnprintable(text).replaceAll('"', '\\u0022')}"`;
}
