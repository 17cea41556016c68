/**
 * Where alerts go: webhooks (`--notify-webhook URL`, repeatable, each POST
 * signed), syslog (`--notify-syslog`) and always the server's pino log. Each
 * sink has a stable name stored on its outbox rows, so the worker of any
 * server configured with the same sinks delivers them.
 */
import type { Logger } from 'pino';
import type { AlertBody } from './alert.js';
import { SIGNATURE_HEADER, signBody } from './signature.js';
import { sendSyslog, syslogTargetName, type SyslogTarget } from './syslog.js';

export interface Sink {
  /** Stored in alert_outbox.sink: 'log', 'webhook:URL', 'syslog:TARGET'. */
  readonly name: string;
  /** Resolves once the receiver took the alert; rejects with why not. */
  deliver(alert: AlertBody, body: string): Promise<void>;
}

/** alert_outbox.sink holds 255 characters. */
const MAX_SINK_NAME = 255;

/** A receiver answered something else than 2xx. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
}

export function logSink(logger: Logger): Sink {
  return {
    name: 'log',
    async deliver(alert) {
      logger.warn({ alert }, `alert ${alert.type}`);
    },
  };
}

/** An http(s) URL without credentials in it (they would show on the admin pages), short enough to be a sink name. */
export function checkWebhookUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`--notify-webhook ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`--notify-webhook ${text}: only http and https URLs`);
  if (url.username || url.password) throw new RangeError(`--notify-webhook ${url.host}: put no credentials in the URL; the body is signed with --notify-secret`);
  if (`webhook:${url.href}`.length > MAX_SINK_NAME) throw new RangeError(`--notify-webhook URL longer than ${MAX_SINK_NAME - 8} characters`);
  return url;
}

export function webhookSink(url: URL, secret: Buffer, timeoutMs: number): Sink {
  return {
    name: `webhook:${url.href}`,
    async deliver(_alert, body) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADER]: signBody(secret, body), 'User-Agent': 'acs-server' },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299) throw new DeliveryError(`HTTP ${res.status} from ${url.host}`);
    },
  };
}

export function syslogSink(target: SyslogTarget, timeoutMs: number): Sink {
  return {
    name: `syslog:${syslogTargetName(target)}`,
    deliver: (alert, body) => sendSyslog(target, alert, body, timeoutMs),
  };
}
