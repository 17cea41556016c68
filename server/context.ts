/**
 * The shared state every request handler is given: the store, EK trust,
 * privacy CA, attestation and reference-value policies, the AK cache, the
 * security-event log, the alert notifier, and the settings handlers read.
 */
import type { Logger } from 'pino';
import type { Store } from '../db/store.js';
import type { PrivacyCa } from './privacy-ca.js';
import type { TrustStore } from './trust-store.js';
import type { AttestationPolicy } from './attestation-policy.js';
import type { RememberedAks } from './remembered-aks.js';
import type { SecurityEvents } from './security-events.js';
import type { Notifier } from './alerts/notifier.js';
import type { PolicyCache } from './policy/policy-cache.js';

/** What every request handler works with. */
export interface ServerContext {
  store: Store;
  trust: TrustStore;
  ca: PrivacyCa;
  policy: AttestationPolicy;
  /** Each host's AK as last read, for checking quote signatures before any SQL. */
  aks: RememberedAks;
  logger: Logger;
  /** Re-enrolling a hostname with a different EK is refused unless set. */
  allowReenroll: boolean;
  /** Lifetime of an enrollment challenge. Default 5 minutes. */
  challengeTtlMs: number;
  /** Lifetime of an attestation nonce (`--nonce-ttl`). Default 5 minutes. */
  nonceTtlMs: number;
  /** Refused reports per machine whose events are kept (`--keep-refused`). */
  keepRefused: number;
  securityEvents: SecurityEvents;
  /** Raises alerts into the outbox of a report's transaction and delivers them. */
  notifier: Notifier;
  /** The compiled reference-value policies machines are assigned. */
  policies: PolicyCache;
  /** A machine whose last passing report is older is stale (`--stale-after`). */
  staleAfterMs: number;
  now(): Date;
}
