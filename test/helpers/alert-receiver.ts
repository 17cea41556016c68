/**
 * A real HTTP receiver of alert webhooks on a loopback port: records each
 * POST's raw body and X-ACS-Signature header, answers 204, 500, or nothing
 * at all (`hang`), and can go down and come back on the same port. The HMAC
 * is checked here with node:crypto directly, as a receiver would, not with
 * the server's own signing code.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';

export interface ReceivedAlert {
  raw: string;
  signature: string | undefined;
  alert: { id: string; type: string; time: string; hostname: string; report?: { id: number; url: string }; summary: string; details: Record<string, unknown> };
}

export type ReceiverMode = 'ok' | 'error' | 'hang';

export function hmacMatches(secret: Buffer, raw: string, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
  return header !== undefined && header.length === expected.length && timingSafeEqual(Buffer.from(header), expected);
}

export class AlertReceiver {
  readonly received: ReceivedAlert[] = [];
  mode: ReceiverMode = 'ok';
  /** POSTs answered with an error or left hanging. */
  refused = 0;
  private server: Server | undefined;
  private readonly hanging = new Set<ServerResponse>();

  private constructor(public port: number) {}

  static async start(t: Test, port = 0): Promise<AlertReceiver> {
    const r = new AlertReceiver(port);
    await r.up();
    t.teardown(() => r.down());
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/acs`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.mode === 'hang') {
      this.refused++;
      this.hanging.add(res);
      return;
    }
    if (this.mode === 'error') {
      this.refused++;
      res.writeHead(500).end();
      return;
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const header = req.headers['x-acs-signature'];
    this.received.push({ raw, signature: Array.isArray(header) ? header[0] : header, alert: JSON.parse(raw) as ReceivedAlert['alert'] });
    res.writeHead(204).end();
  }

  /** Listens (again) on its port. */
  async up(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and drops every connection, hanging ones included. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** The received alerts of a type (and hostname). */
  ofType(type: string, hostname?: string): ReceivedAlert[] {
    return this.received.filter((r) => r.alert.type === type && (hostname === undefined || r.alert.hostname === hostname));
  }

  /** Waits until `count` alerts match; fails after `limitMs` (a bound on a hang, not a speed check). */
  async waitFor(match: (r: ReceivedAlert) => boolean, count = 1, limitMs = 30_000): Promise<ReceivedAlert[]> {
    const until = Date.now() + limitMs;
    for (;;) {
      const found = this.received.filter(match);
      if (found.length >= count) return found;
      if (Date.now() > until) throw new Error(`expected ${count} matching alerts, got ${found.length}: ${this.received.map((r) => r.alert.type).join(', ')}`);
      await sleep(50);
    }
  }
}
