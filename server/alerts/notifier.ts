/**
 * The server's alerting: the configured sinks, raising alerts inside a
 * report's transaction (outbox rows commit or roll back with the report),
 * waking the delivery worker after the commit, and watching for machines
 * that stop attesting (machine.stale).
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { OutboxSql } from '../../db/alert-outbox.js';
import type { Store, StoreTx } from '../../db/store.js';
import { storeDriver } from '../../db/web-queries.js';
import { outboxRows, type AlertInput, type AlertReport } from './alert.js';
import { DeliveryWorker, type DeliveryTiming } from './delivery-worker.js';
import { checkWebhookUrl, logSink, syslogSink, webhookSink, type Sink } from './sinks.js';
import { StaleWatch } from './stale-watch.js';
import { parseSyslogTarget } from './syslog.js';

export interface AlertOptions {
  /** `--notify-webhook` URLs. */
  webhooks?: string[];
  /** `--notify-secret FILE`: the HMAC key of webhook signatures; required with webhooks. */
  secretFile?: string;
  /** `--notify-syslog [TARGET]`: undefined for none, '' for /dev/log. */
  syslog?: string;
  /** `--stale-after`: a machine whose last passing report is older is stale. */
  staleAfterMs: number;
  /** Base of the report URLs in alerts, e.g. http://acs.example:8080. */
  reportBaseUrl: string;
  timing?: Partial<DeliveryTiming>;
  /** How often machines are checked for staleness. Default a minute, or staleAfterMs / 4 when shorter. */
  staleCheckMs?: number;
}

/** A configuration mistake in the alert options, said before the server starts. */
export class AlertConfigError extends Error {
  override name = 'AlertConfigError';
}

export class Notifier {
  private readonly worker: DeliveryWorker;
  private readonly stale: StaleWatch;

  private constructor(
    store: Store,
    private readonly sinks: Sink[],
    opts: AlertOptions,
    logger: Logger,
    private readonly now: () => Date,
  ) {
    const driver = storeDriver(store);
    this.worker = new DeliveryWorker(new OutboxSql(driver), sinks, logger, opts.timing, now);
    const raise = async (alerts: AlertInput[]) => {
      await store.transaction((tx) => this.raise(tx, alerts));
      this.committed();
    };
    const every = opts.staleCheckMs ?? Math.min(60_000, Math.max(1000, opts.staleAfterMs / 4));
    this.stale = new StaleWatch(driver, { raise, reportRef: (id) => this.reportRef(id) }, opts.staleAfterMs, every, logger, now);
    this.reportBaseUrl = opts.reportBaseUrl.replace(/\/+$/, '');
  }

  private readonly reportBaseUrl: string;

  static async create(store: Store, opts: AlertOptions, logger: Logger, now: () => Date = () => new Date()): Promise<Notifier> {
    const timeoutMs = opts.timing?.timeoutMs ?? 10_000;
    const sinks: Sink[] = [logSink(logger)];
    let urls: URL[];
    try {
      urls = (opts.webhooks ?? []).map(checkWebhookUrl);
      if (opts.syslog !== undefined) sinks.push(syslogSink(parseSyslogTarget(opts.syslog), timeoutMs));
    } catch (e) {
      throw new AlertConfigError((e as Error).message);
    }
    if (urls.length > 0) {
      if (!opts.secretFile) throw new AlertConfigError('--notify-webhook needs --notify-secret FILE to sign the alerts');
      const secret = await readSecret(opts.secretFile);
      for (const url of urls) sinks.push(webhookSink(url, secret, timeoutMs));
    }
    return new Notifier(store, sinks, opts, logger, now);
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

  /** Writes the alerts into the outbox of the transaction `tx`; call committed() once it has committed. */
  async raise(tx: StoreTx, alerts: readonly AlertInput[]): Promise<void> {
    if (alerts.length === 0) return;
    await tx.insertAlerts(outboxRows(alerts, this.sinkNames, this.now()));
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
