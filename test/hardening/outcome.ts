/**
 * What a client saw: accepted, or the ACS error code it was answered. A
 * transport failure (no answer at all) is not an outcome here unless the
 * caller asks for it, so a test that expects answers fails on silence.
 */
import { AcsError, formatErrorCode } from '../../shared/protocol/errors.js';
import { ExchangeError } from '../../client/exchange.js';

/** null when `p` resolved, else the 8-hex-digit code it was refused with. */
export async function refusal(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    if (e instanceof AcsError) return formatErrorCode(e.code);
    throw e;
  }
}

/** Like refusal(), but a connection that failed or closed unanswered gives the error's name. */
export async function outcome(p: Promise<unknown>): Promise<string | null> {
  try {
    return await refusal(p);
  } catch (e) {
    if (e instanceof ExchangeError) return e.name;
    throw e;
  }
}

/** Counts of each value, e.g. { ok: 120, '80000040': 14 }. */
export function tally(values: readonly (string | null)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v ?? 'ok'] = (out[v ?? 'ok'] ?? 0) + 1;
  return out;
}
