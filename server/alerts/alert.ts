/**
 * Alerts: what the server tells people when a machine's attestation changes
 * for the worse (or back). The body is the contract receivers parse:
 *   { "id": uuid, "type", "time": ISO 8601, "hostname", "report"?: { "id", "url" },
 *     "summary", "details": {…} }
 * It is serialized once, stored in the outbox and sent byte for byte, so a
 * signature over it stays valid on every retry and receivers dedupe by id.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { NewOutboxRow } from '../../db/alert-outbox.js';

export const ALERT_TYPES = [
  'attestation.failed',
  'machine.state_changed',
  'machine.pcrinvalid',
  'policy.violation',
  'machine.stale',
  'security.forged_quote',
] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

export interface AlertReport {
  id: number;
  url: string;
}

export interface AlertBody {
  id: string;
  type: AlertType;
  time: string;
  hostname: string;
  report?: AlertReport;
  summary: string;
  details: Record<string, unknown>;
}

export interface AlertInput {
  type: AlertType;
  hostname: string;
  summary: string;
  details: Record<string, unknown>;
  report?: AlertReport;
  /**
   * Names the event itself when two servers may see it independently (a
   * machine going stale): the id is derived from it, so the outbox keeps one.
   */
  dedupeKey?: string;
}

/**
 * A name-based UUID (RFC 9562 §5.5, version 5: SHA-1 over a namespace and the
 * name) in a namespace of our own, so equal keys give equal alert ids.
 */
const NAMESPACE = Buffer.from('6f1c1b1e5a2d4f7e9b3c8a0d2e4f6a81', 'hex');
export function stableAlertId(key: string): string {
  const h = createHash('sha1').update(NAMESPACE).update(key, 'utf8').digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export function alertBody(input: AlertInput, now: Date): AlertBody {
  return {
    id: input.dedupeKey === undefined ? randomUUID() : stableAlertId(input.dedupeKey),
    type: input.type,
    time: now.toISOString(),
    hostname: input.hostname,
    ...(input.report ? { report: input.report } : {}),
    summary: input.summary,
    details: input.details,
  };
}

/** The outbox rows of alerts: each alert once per sink, all with the same serialized body. */
export function outboxRows(inputs: readonly AlertInput[], sinks: readonly string[], now: Date): NewOutboxRow[] {
  return inputs.flatMap((input) => {
    const body = alertBody(input, now);
    const text = JSON.stringify(body);
    return sinks.map((sink) => ({ alertId: body.id, sink, type: body.type, hostname: body.hostname, body: text, createdAt: now }));
  });
}
