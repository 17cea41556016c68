/**
 * The alert outbox (table alert_outbox): one row per alert and sink, inserted
 * in the transaction that raised the alert, so an alert exists exactly when
 * the report that caused it was committed and survives any crash after that.
 * Delivery workers of any number of servers claim due rows: a claim sets a
 * fresh claim_token and pushes next_attempt_at past a lease, under FOR UPDATE
 * SKIP LOCKED where the server has it (MariaDB 10.6+, MySQL 8.0.1+) and under
 * SQLite's single-writer BEGIN IMMEDIATE; the conditional UPDATE alone already
 * keeps two claims of one row apart. A worker that dies mid-delivery leaves
 * its rows to be claimed again once the lease runs out (at least once).
 */
import { formatTime, ident, parseTime, type SqlDriver, type SqlValue } from './driver.js';
import { tableCodec } from './rows.js';
import { alert_outbox } from './schema/mysql.js';

export type OutboxState = 'pending' | 'delivered' | 'failed';

export interface OutboxRow {
  id: number;
  /** The alert's uuid, the body's "id": one alert has one row per sink. */
  alertId: string;
  /** 'log', 'webhook:URL' or 'syslog:TARGET'. */
  sink: string;
  type: string;
  hostname: string | null;
  /** The exact JSON body sent (and signed); never re-serialized. */
  body: string;
  createdAt: Date;
  state: OutboxState;
  attempts: number;
  /** When a pending row is next due; during a claim, when its lease ends. */
  nextAttemptAt: Date;
  claimToken: string | null;
  lastError: string | null;
  deliveredAt: Date | null;
}

export type NewOutboxRow = Pick<OutboxRow, 'alertId' | 'sink' | 'type' | 'hostname' | 'body' | 'createdAt'>;
/** A row this worker holds: complete it with the same token. */
export type ClaimedDelivery = Pick<OutboxRow, 'id' | 'alertId' | 'sink' | 'type' | 'body' | 'attempts' | 'createdAt'> & { claimToken: string };

export const outboxCodec = tableCodec<OutboxRow>()(alert_outbox, {});

const insertCodec = outboxCodec.omit(['id']);
const claimCodec = outboxCodec.pick(['id', 'alertId', 'sink', 'type', 'body', 'attempts', 'createdAt']);
const LAST_ERROR_CHARS = 1000;

/**
 * Inserts outbox rows; a row whose (alert id, sink) is already there is
 * skipped, so an alert with a deterministic id raised by two servers at once
 * (machine.stale) is stored, and sent, once.
 */
export async function insertOutboxRows(write: (sql: string, params: SqlValue[]) => Promise<void> | void, driver: SqlDriver, rows: readonly NewOutboxRow[]): Promise<void> {
  for (const row of rows) {
    const { columns, params } = insertCodec.encode({
      ...row,
      state: 'pending',
      attempts: 0,
      nextAttemptAt: row.createdAt,
      claimToken: null,
      lastError: null,
      deliveredAt: null,
    });
    await write(`${driver.insertIgnore} INTO alert_outbox (${columns.map(ident).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, params);
  }
}

/** FOR UPDATE SKIP LOCKED exists from MariaDB 10.6 and MySQL 8.0.1 on; `version` is SELECT VERSION()'s answer. */
export function skipLockedSupported(version: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor, patch] = m.slice(1).map(Number) as [number, number, number];
  if (/mariadb/i.test(version)) return major > 10 || (major === 10 && minor >= 6);
  return major > 8 || (major === 8 && (minor > 0 || patch >= 1));
}

export class OutboxSql {
  private lockClause: Promise<string> | undefined;

  constructor(private readonly driver: SqlDriver) {}

  /** The row lock a claim takes: SKIP LOCKED where the server supports it, so workers never wait on each other. */
  private claimLock(): Promise<string> {
    this.lockClause ??= (async () => {
      if (this.driver.dialect !== 'mysql') return this.driver.forUpdate;
      const rows = await this.driver.all('SELECT VERSION() AS v');
      return skipLockedSupported(String(rows[0]?.v ?? '')) ? ' FOR UPDATE SKIP LOCKED' : ' FOR UPDATE';
    })();
    return this.lockClause;
  }

  /** When the earliest pending row of these sinks is due; null when none is pending. */
  async nextDue(sinks: readonly string[]): Promise<Date | null> {
    if (sinks.length === 0) return null;
    const rows = await this.driver.all(
      `SELECT MIN(next_attempt_at) AS due FROM alert_outbox WHERE state = 'pending' AND sink IN (${sinks.map(() => '?').join(', ')})`,
      [...sinks],
    );
    const due = rows[0]?.due;
    return due === null || due === undefined ? null : parseTime(due);
  }

  /** Claims up to `limit` due rows of these sinks until now + leaseMs. */
  async claim(sinks: readonly string[], now: Date, leaseMs: number, limit: number, token: string): Promise<ClaimedDelivery[]> {
    if (sinks.length === 0) return [];
    const lock = await this.claimLock();
    const inSinks = sinks.map(() => '?').join(', ');
    return this.driver.transaction(async (conn) => {
      const due = await conn.all(
        `SELECT ${claimCodec.select()} FROM alert_outbox WHERE state = 'pending' AND next_attempt_at <= ? AND sink IN (${inSinks})
         ORDER BY next_attempt_at, id LIMIT ${Math.trunc(limit)}${lock}`,
        [formatTime(now), ...sinks],
      );
      const claimed: ClaimedDelivery[] = [];
      const leaseEnd = formatTime(new Date(now.getTime() + leaseMs));
      for (const row of due) {
        const d = claimCodec.decode(row);
        const res = await conn.run(
          `UPDATE alert_outbox SET claim_token = ?, attempts = attempts + 1, next_attempt_at = ?
           WHERE id = ? AND state = 'pending' AND next_attempt_at <= ?`,
          [token, leaseEnd, d.id, formatTime(now)],
        );
        if (res.changes === 1) claimed.push({ ...d, attempts: d.attempts + 1, claimToken: token });
      }
      return claimed;
    });
  }

  /** Marks a claimed row delivered; false when the claim was lost (the lease ran out and another worker took it). */
  async delivered(d: ClaimedDelivery, now: Date): Promise<boolean> {
    const res = await this.driver.run(
      `UPDATE alert_outbox SET state = 'delivered', delivered_at = ?, last_error = NULL, claim_token = NULL WHERE id = ? AND claim_token = ?`,
      [formatTime(now), d.id, d.claimToken],
    );
    return res.changes === 1;
  }

  /** Records a failed attempt: due again at `retryAt`, or given up (state failed) when retryAt is null. */
  async attemptFailed(d: ClaimedDelivery, error: string, retryAt: Date | null, now: Date): Promise<boolean> {
    const params: SqlValue[] = [retryAt ? 'pending' : 'failed', error.slice(0, LAST_ERROR_CHARS), formatTime(retryAt ?? now), d.id, d.claimToken];
    const res = await this.driver.run(
      `UPDATE alert_outbox SET state = ?, last_error = ?, next_attempt_at = ?, claim_token = NULL WHERE id = ? AND claim_token = ?`,
      params,
    );
    return res.changes === 1;
  }

  /** Makes a given-up delivery due again now (an administrator's retry); false when it is not given up. */
  async retry(id: number, now: Date): Promise<boolean> {
    const res = await this.driver.run(
      `UPDATE alert_outbox SET state = 'pending', next_attempt_at = ?, claim_token = NULL WHERE id = ? AND state = 'failed'`,
      [formatTime(now), id],
    );
    return res.changes === 1;
  }

  /** Which of these alert ids the outbox already holds. */
  async existing(alertIds: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < alertIds.length; i += 500) {
      const chunk = alertIds.slice(i, i + 500);
      const rows = await this.driver.all(`SELECT DISTINCT alert_id FROM alert_outbox WHERE alert_id IN (${chunk.map(() => '?').join(', ')})`, chunk);
      for (const r of rows) found.add(String(r.alert_id));
    }
    return found;
  }

  /** Deliveries that failed at least once and are not delivered (retrying or given up), newest first. */
  async troubled(limit: number): Promise<OutboxRow[]> {
    const rows = await this.driver.all(
      `SELECT ${outboxCodec.select()} FROM alert_outbox WHERE state <> 'delivered' AND last_error IS NOT NULL ORDER BY id DESC LIMIT ${Math.trunc(limit)}`,
    );
    return rows.map((r) => outboxCodec.decode(r));
  }

  /** The newest rows, any state. */
  async recent(limit: number): Promise<OutboxRow[]> {
    const rows = await this.driver.all(`SELECT ${outboxCodec.select()} FROM alert_outbox ORDER BY id DESC LIMIT ${Math.trunc(limit)}`);
    return rows.map((r) => outboxCodec.decode(r));
  }
}
