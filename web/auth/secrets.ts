/**
 * Session and API-token secrets: 256 random bits, base64url. The database
 * keeps only their SHA-256 (a secret this long needs no slow hash), so a copy
 * of the tables opens nothing.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Marks API tokens so they are recognizable in a secret scanner and in a user's clipboard. */
export const API_TOKEN_PREFIX = 'acs_';

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function newApiToken(): string {
  return `${API_TOKEN_PREFIX}${newSecret()}`;
}

export function secretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A keyed digest for values derived from a secret (the CSRF token of a session). */
export function derived(key: string, label: string): string {
  return createHmac('sha256', key).update(label, 'utf8').digest('base64url');
}

/** Constant-time string equality: both sides are hashed first, so lengths leak nothing either. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
