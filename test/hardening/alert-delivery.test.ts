/**
 * Alert delivery under failure, with acs-server run as users run it (the CLI
 * in child processes) over one MariaDB database, software machines attesting
 * over TCP and a real HTTP receiver:
 *  - killed with SIGKILL while its delivery of a committed alert hangs, the
 *    server started again delivers that alert;
 *  - two servers on one database, machines attesting to both at once: each
 *    alert reaches the receiver once and is logged by one server once.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OutboxSql } from '../../db/alert-outbox.js';
import { openStore } from '../../db/open.js';
import { AlertReceiver, hmacMatches } from '../helpers/alert-receiver.js';
import { ServerCli, serveArgs } from './server-cli.js';
import { serverFiles } from './server-setup.js';
import { steppedFleet } from './stepped-host.js';

const files = await serverFiles(t);
const secret = randomBytes(24).toString('base64');
const secretFile = join(files.dir, 'notify-secret');
await writeFile(secretFile, `${secret}\n`);
const store = await openStore(files.dbUrl, process.env, { create: true });
t.teardown(() => store.close());
const outbox = new OutboxSql(store.driver);

const notifyArgs = (receiver: AlertReceiver) => ['--notify-webhook', receiver.url, '--notify-secret', secretFile, '--notify-timeout', '2'];

t.test('killed after the commit, before the delivery: the restarted server delivers', async (t) => {
  const receiver = await AlertReceiver.start(t);
  receiver.mode = 'hang';
  const server = await ServerCli.start(t, serveArgs(files, 0, notifyArgs(receiver)));
  const [host] = steppedFleet(files.ekCa, 'killed', 1);
  await host!.enroll(server.ep);
  await host!.attest(server.ep);
  const pending = await waitUntil(async () => (await outbox.recent(10)).find((r) => r.sink === `webhook:${receiver.url}`));
  await waitUntil(async () => receiver.refused > 0 || undefined);
  t.equal(receiver.received.length, 0, 'the delivery was in flight, not done');
  await server.stop('SIGKILL');
  receiver.mode = 'ok';
  await server.restart();
  const [got] = await receiver.waitFor((r) => r.alert.id === pending.alertId);
  t.match(got!.alert, { type: 'machine.state_changed', hostname: host!.hostname, details: { old: 'never', new: 'trusted' } });
  t.ok(hmacMatches(Buffer.from(secret), got!.raw, got!.signature), 'signed with the secret from the file');
  const row = await waitUntil(async () => (await outbox.recent(10)).find((r) => r.id === pending.id && r.state === 'delivered' ? r : undefined));
  t.ok(row.attempts >= 2, 'attempted before the kill and again after the restart');
  await server.stop('SIGTERM');
});

t.test('two servers on one database send each alert once', async (t) => {
  const receiver = await AlertReceiver.start(t);
  const a = await ServerCli.start(t, serveArgs(files, 0, notifyArgs(receiver)));
  const b = await ServerCli.start(t, serveArgs(files, 0, notifyArgs(receiver)));
  const fleet = steppedFleet(files.ekCa, 'pair', 16);
  await Promise.all(fleet.map((h, i) => h.enroll(i % 2 ? a.ep : b.ep)));
  // Nonces from one server, quotes to the other: both raise alerts, both workers claim.
  await Promise.all(fleet.map((h, i) => h.attest(i % 2 ? a.ep : b.ep, i % 2 ? b.ep : a.ep)));
  const changes = await receiver.waitFor((r) => r.alert.type === 'machine.state_changed' && r.alert.hostname.startsWith('pair-'), fleet.length);
  t.same(new Set(changes.map((r) => r.alert.hostname)), new Set(fleet.map((h) => h.hostname)), 'one state change per machine');
  await waitUntil(async () => ((await outbox.nextDue(['log', `webhook:${receiver.url}`])) === null ? true : undefined));
  const ids = receiver.received.map((r) => r.alert.id);
  t.equal(new Set(ids).size, ids.length, 'no alert arrived twice');
  t.equal(ids.length, fleet.length, 'and none more');
  const logged = [...a.log.lines, ...b.log.lines].filter((l) => typeof l.msg === 'string' && l.msg.startsWith('alert ') && String((l.alert as { hostname?: string })?.hostname).startsWith('pair-'));
  t.equal(logged.length, fleet.length, 'each alert logged by one server once');
});

/** Polls `f` until it gives a value (a bound on a hang, not a speed check). */
async function waitUntil<T>(f: () => Promise<T | undefined>, limitMs = 60_000): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 100));
  }
}
