/**
 * The server's alerting: the configured sinks, raising alerts inside a
 * report's transaction (outbox rows commit or roll back with the report),
 * waking the delivery worker after the commit, and watching for machines
 * that stop attesting (machine.stale).
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { OutboxSql } from '../../db/alert-outbox.js';
import type { SqlDriver } from '../../db/driver.js';
import type { Store, StoreTx } from '../../db/store.js';
import { outboxRows, type AlertInput, type AlertReport } from './alert.js';
import { DeliveryWorker, type DeliveryTiming } from './delivery-worker.js';
import { checkWebhookUrl, logSink, syslogSink, webhookSink, type Sink } from './sinks.js';
import { StaleWatch } from './stale-watch.js';
import { parseSyslogTarget } from './syslog.js';
import type { ServerConfig } from '../config.js';

/** The alerting part of the server configuration (server/config.ts). */
export type AlertConfig = Pick<
  ServerConfig,
  'notifyWebhooks' | 'notifySecret' | 'notifySyslog' | 'notifyTimeoutMs' | 'publicUrl' | 'staleAfterMs' | 'webHost' | 'webPort' | 'webTlsCert'
>;

/** A configuration mistake in the alert options, said before the server starts. */
export class AlertConfigError extends Error {
  override name = 'AlertConfigError';
}

/** How often machines are checked for staleness (the stale limit is an hour at least). */
const STALE_CHECK_MS = 60_000;

export class Notifier {
  private readonly worker: DeliveryWorker;
  private readonly stale: StaleWatch;

  private constructor(
    store: Store,
    driver: SqlDriver,
    private readonly sinks: Sink[],
    config: AlertConfig,
    timing: Partial<DeliveryTiming>,
    logger: Logger,
    private readonly now: () => Date,
  ) {
    this.worker = new DeliveryWorker(new OutboxSql(driver), sinks, logger, { ...timing, timeoutMs: config.notifyTimeoutMs }, now);
    const raise = async (alerts: AlertInput[]) => {
      await store.transaction((tx) => this.raise(tx, alerts));
      this.committed();
    };
    this.stale = new StaleWatch(driver, { raise, reportRef: (id) => this.reportRef(id) }, config.staleAfterMs, STALE_CHECK_MS, logger, now);
    const host = config.webHost.includes(':') ? `[${config.webHost}]` : config.webHost;
    this.reportBaseUrl = (config.publicUrl ?? `${config.webTlsCert ? 'https' : 'http'}://${host}:${config.webPort}`).replace(/\/+$/, '');
  }

  private readonly reportBaseUrl: string;

  /** Checks the configuration (URLs, syslog target, secret file) and builds the sinks; nothing runs until start(). */
  static async create(store: Store, driver: SqlDriver, config: AlertConfig, timing: Partial<DeliveryTiming>, logger: Logger, now: () => Date): Promise<Notifier> {
    const timeoutMs = config.notifyTimeoutMs;
    const sinks: Sink[] = [logSink(logger)];
    let urls: URL[];
    try {
      urls = config.notifyWebhooks.map(checkWebhookUrl);
      if (config.notifySyslog !== undefined) sinks.push(syslogSink(parseSyslogTarget(config.notifySyslog), timeoutMs));
    } catch (e) {
      throw new AlertConfigError((e as Error).message);
    }
    if (urls.length > 0) {
      if (!config.notifySecret) throw new AlertConfigError('--notify-webhook needs --notify-secret FILE to sign the alerts');
      const secret = await readSecret(config.notifySecret);
      for (const url of urls) sinks.push(webhookSink(url, secret, timeoutMs));
    }
    return new Notifier(store, driver, sinks, config, timing, logger, now);
  }

  get sinkNames(): string[] {
    return this.sinks.map((s) => s.name);
  }

  start(): void {
    this.worker.start();
    this.stale.start();
  }

  async close(): Promise<void> {
    await this.stale.stop();
    await this.worker.stop();
  }

  /** The `report` member of an alert about attestation `id`. */
  reportRef(id: number): AlertReport {
    return { id, url: `${this.reportBaseUrl}/reports/${id}` };
  }

  /**
   * Writes the alerts into the outbox of the transaction `tx`; when it wrote
   * any (true), call committed() once the transaction has committed.
   */
  async raise(tx: StoreTx, alerts: readonly AlertInput[]): Promise<boolean> {
    if (alerts.length === 0) return false;
    await tx.insertAlerts(outboxRows(alerts, this.sinkNames, this.now()));
    return true;
  }

  /** Lets the worker deliver what a committed transaction raised without waiting for its next poll. */
  committed(): void {
    this.worker.wake();
  }
}

/** The secret file's content without a trailing newline; it must not be empty. */
async function readSecret(path: string): Promise<Buffer> {
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (e) {
    throw new AlertConfigError(`--notify-secret ${path}: ${(e as Error).message}`);
  }
  const secret = text.subarray(0, text.length - (/\r?\n$/.exec(text.toString('latin1'))?.[0].length ?? 0));
  if (secret.length === 0) throw new AlertConfigError(`--notify-secret ${path} is empty`);
  return secret;
}
