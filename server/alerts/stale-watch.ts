/**
 * machine.stale: a machine whose last report passed but is older than
 * `--stale-after` has stopped attesting. Checked periodically; each such
 * report raises machine.stale and machine.state_changed (trusted → stale)
 * once, with ids derived from the hostname and report, so servers sharing a
 * database and restarts of one raise it once between them.
 */
import type { Logger } from 'pino';
import { OutboxSql } from '../../db/alert-outbox.js';
import type { SqlDriver } from '../../db/driver.js';
import { SqlForensics } from '../../db/forensics-sql.js';
import { stableAlertId, type AlertInput, type AlertReport } from './alert.js';
import { stateChanged } from './report-alerts.js';

export interface StaleAlerting {
  /** Raises alerts in a transaction of their own. */
  raise(alerts: AlertInput[]): Promise<void>;
  reportRef(id: number): AlertReport;
}

export class StaleWatch {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<unknown> | undefined;
  private readonly queries: SqlForensics;
  private readonly outbox: OutboxSql;

  constructor(
    driver: SqlDriver,
    private readonly alerting: StaleAlerting,
    private readonly staleAfterMs: number,
    private readonly everyMs: number,
    private readonly logger: Logger,
    private readonly now: () => Date,
  ) {
    this.queries = new SqlForensics(driver);
    this.outbox = new OutboxSql(driver);
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.checking ??= this.check()
        .catch((e) => this.logger.warn({ err: e }, 'stale machine check failed'))
        .finally(() => (this.checking = undefined));
    }, this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  /** Raises the alerts of machines that went stale since they were last raised; returns how many machines. */
  async check(): Promise<number> {
    const stale = await this.queries.machines({ state: 'stale', staleAfterMs: this.staleAfterMs, now: this.now() });
    const candidates = stale.flatMap((m) => (m.last ? [{ hostname: m.machine.hostname, report: m.last.id, quoted: m.last.quoted }] : []));
    const key = (c: { hostname: string; report: number }) => `machine.stale:${c.hostname}:${c.report}`;
    const known = await this.outbox.existing(candidates.map((c) => stableAlertId(key(c))));
    const fresh = candidates.filter((c) => !known.has(stableAlertId(key(c))));
    const alerts = fresh.flatMap((c): AlertInput[] => {
      const report = this.alerting.reportRef(c.report);
      return [
        {
          type: 'machine.stale',
          hostname: c.hostname,
          report,
          summary: `${c.hostname}: no attestation since ${c.quoted?.toISOString() ?? 'never'}`,
          details: { lastReport: c.quoted?.toISOString() ?? null, staleAfterSeconds: Math.round(this.staleAfterMs / 1000) },
          dedupeKey: key(c),
        },
        stateChanged(c.hostname, 'trusted', 'stale', report, `machine.state_changed:${c.hostname}:${c.report}:stale`),
      ];
    });
    if (alerts.length > 0) await this.alerting.raise(alerts);
    return fresh.length;
  }
}
