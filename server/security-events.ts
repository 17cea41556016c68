/**
 * Security events: requests that are no host's evidence, such as a quote
 * whose signature does not verify with the enrolled AK (DESIGN.md "Who may
 * do what": only the TPM holding an enrolled AK changes its machine's
 * state). They go to their own table, never to the host's reports, and an
 * unauthenticated sender cannot fill it: at most RATE_PER_MINUTE are
 * written (the next one written says how many were not), each detail is
 * cut to DETAIL_CHARS, and only the newest KEEP rows are kept.
 */
import type { Logger } from 'pino';
import type { Store } from '../db/store.js';
import type { Notifier } from './alerts/notifier.js';
import { forgedQuoteAlert } from './alerts/report-alerts.js';

export const RATE_PER_MINUTE = 60;
export const DETAIL_CHARS = 1000;
export const KEEP = 10_000;

export type SecurityEventKind = 'forged_quote';

export class SecurityEvents {
  private tokens = RATE_PER_MINUTE;
  private last: number | null = null;
  private suppressed = 0;

  constructor(
    private readonly store: Store,
    private readonly now: () => Date,
    /** Raises security.forged_quote with each recorded forgery, in the same transaction. */
    private readonly notifier?: Notifier,
  ) {}

  /** Writes the event unless over the rate; never throws (the request's own answer does not depend on it). */
  async record(kind: SecurityEventKind, hostname: string | null, detail: string, log: Logger): Promise<void> {
    const t = this.now().getTime();
    this.tokens = Math.min(RATE_PER_MINUTE, this.tokens + ((t - (this.last ?? t)) * RATE_PER_MINUTE) / 60_000);
    this.last = t;
    log.warn({ securityEvent: kind, hostname }, detail);
    if (this.tokens < 1) {
      this.suppressed++;
      return;
    }
    this.tokens -= 1;
    const more = this.suppressed ? ` (${this.suppressed} earlier events over the rate limit were not recorded)` : '';
    this.suppressed = 0;
    try {
      await this.store.transaction(async (tx) => {
        await tx.insertSecurityEvent({ timestamp: new Date(t), kind, hostname: hostname?.slice(0, 255) ?? null, detail: `${detail.slice(0, DETAIL_CHARS)}${more}` }, KEEP);
        if (hostname !== null) await this.notifier?.raise(tx, [forgedQuoteAlert(hostname, detail.slice(0, DETAIL_CHARS), new Date(t))]);
      });
      this.notifier?.committed();
    } catch (e) {
      log.warn({ err: e }, 'could not record the security event');
    }
  }
}
