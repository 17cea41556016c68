/**
 * Each host's AK as last read, so a quote's signature is checked before
 * any SQL.
 */
import type { EnrolledMachine, Store } from '../db/store.js';
import { ACS_ERROR, AcsError } from '../shared/protocol/errors.js';

/** Enough for every host of a large fleet; beyond it the host remembered longest ago is dropped. */
const MAX_HOSTS = 50_000;

/**
 * The AK (stored TPMT_PUBLIC hex) each hostname's machine row held when this
 * server last read it, so a quote's signature is checked without first
 * reading the row again. Only a hint: the quote is
 * accepted against the row as it stands under its lock, and a signature that
 * fails against a remembered AK is checked again against the row, since the
 * host may have enrolled a new AK through another server.
 */
export class RememberedAks {
  private readonly byHost = new Map<string, string>();

  constructor(private readonly maxHosts = MAX_HOSTS) {}

  remember(hostname: string, attestpub: string): void {
    this.byHost.delete(hostname);
    this.byHost.set(hostname, attestpub);
    if (this.byHost.size > this.maxHosts) this.byHost.delete(this.byHost.keys().next().value!);
  }

  /** The hostname's machine, read now, if enrolled (its AK is remembered); else 90000023 and the host is forgotten. */
  async readEnrolled(store: Store, hostname: string): Promise<EnrolledMachine> {
    const m = await store.enrolledMachine(hostname);
    if (!m || !m.enrolled) {
      this.forget(hostname);
      throw new AcsError(ACS_ERROR.NOT_ENROLLED, 'hostname not enrolled');
    }
    this.remember(hostname, m.attestpub);
    return m;
  }

  recall(hostname: string): string | undefined {
    return this.byHost.get(hostname);
  }

  forget(hostname: string): void {
    this.byHost.delete(hostname);
  }
}
