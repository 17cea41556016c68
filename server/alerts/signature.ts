/**
 * Webhook signatures: `X-ACS-Signature: sha256=<hex>` where hex is
 * HMAC-SHA256 (RFC 2104, FIPS 198-1) of the raw request body keyed with the
 * shared secret (`--notify-secret FILE`). Receivers recompute it over the
 * bytes they received and compare in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-ACS-Signature';

export function signBody(secret: Buffer, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** True when `header` is the signature of `body` under `secret`. */
export function signatureMatches(secret: Buffer, body: string | Buffer, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
