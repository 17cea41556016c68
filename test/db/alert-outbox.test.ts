/**
 * The alert outbox on SQLite and MariaDB: rows written in a transaction exist
 * only if it commits; a (alert id, sink) pair is stored once; concurrent
 * claims of several workers never share a row; a claim whose lease ran out is
 * taken over and the old claimant can no longer complete it; failures are
 * recorded with their error and next attempt, or given up.
 */
import t from 'tap';
import { OutboxSql, skipLockedSupported, type NewOutboxRow } from '../../db/alert-outbox.js';
import { BACKENDS } from '../helpers/store-fixtures.js';

const T0 = new Date('2026-12-04T08:00:00.000Z');
const later = (ms: number) => new Date(T0.getTime() + ms);

function row(alertId: string, sink: string, createdAt = T0): NewOutboxRow {
  return { alertId, sink, type: 'attestation.failed', hostname: 'host.test', body: JSON.stringify({ id: alertId }), createdAt };
}

t.test('SKIP LOCKED is used from MariaDB 10.6 and MySQL 8.0.1 on', async (t) => {
  t.ok(skipLockedSupported('10.11.19-MariaDB-0+deb12u1'));
  t.ok(skipLockedSupported('10.6.0-MariaDB'));
  t.notOk(skipLockedSupported('10.5.23-MariaDB'));
  t.ok(skipLockedSupported('8.0.36'));
  t.notOk(skipLockedSupported('8.0.0'));
  t.notOk(skipLockedSupported('5.7.44-log'));
  t.ok(skipLockedSupported('11.4.2-MariaDB'));
});

for (const backend of BACKENDS) {
  t.test(backend.name, async (t) => {
    const store = await backend.open(t);
    const outbox = new OutboxSql(store.driver);
    const sinks = ['log', 'webhook:http://a.test/'];

    t.test('rows exist only when their transaction commits; duplicates are skipped', async (t) => {
      await t.rejects(
        store.transaction(async (tx) => {
          await tx.insertAlerts([row('a-rolled-back', 'log')]);
          throw new Error('report refused');
        }),
      );
      await store.transaction((tx) => tx.insertAlerts([row('a1', 'log'), row('a1', sinks[1]!), row('a2', 'log')]));
      await store.transaction((tx) => tx.insertAlerts([row('a1', 'log')]));
      const all = await outbox.recent(100);
      t.same(all.map((r) => `${r.alertId} ${r.sink}`).sort(), ['a1 log', `a1 ${sinks[1]}`, 'a2 log']);
      t.ok(all.every((r) => r.state === 'pending' && r.attempts === 0 && r.nextAttemptAt.getTime() === T0.getTime()));
      t.same([...(await outbox.existing(['a1', 'a9']))], ['a1']);
      t.same(await outbox.nextDue(['log']), T0);
      t.equal(await outbox.nextDue(['syslog:/dev/log']), null, 'nothing due for another sink');
    });

    t.test('concurrent claims never share a row', async (t) => {
      await store.transaction((tx) => tx.insertAlerts(Array.from({ length: 30 }, (_, i) => row(`c${i}`, 'log'))));
      const claims = await Promise.all(Array.from({ length: 4 }, (_, w) => outbox.claim(['log'], later(1000), 60_000, 50, `token-${w}`)));
      const ids = claims.flat().map((c) => c.id);
      t.equal(ids.length, 32, 'every due row claimed');
      t.equal(new Set(ids).size, ids.length, 'by one worker each');
      t.same(await outbox.claim(['log'], later(2000), 60_000, 50, 'token-late'), [], 'claimed rows are not due again within the lease');
      for (const c of claims.flat()) t.ok(await outbox.delivered(c, later(3000)));
    });

    t.test('a lease that ran out is taken over; the old claim cannot complete', async (t) => {
      const lease = 'webhook:http://lease.test/';
      await store.transaction((tx) => tx.insertAlerts([row('lease', lease)]));
      const [first] = await outbox.claim([lease], later(10_000), 5000, 10, 'worker-a');
      t.equal(first?.attempts, 1);
      const [second] = await outbox.claim([lease], later(16_000), 5000, 10, 'worker-b');
      t.equal(second?.id, first?.id, 'taken over after the lease');
      t.equal(second?.attempts, 2);
      t.notOk(await outbox.delivered(first!, later(17_000)), 'the first claim lost it');
      t.ok(await outbox.attemptFailed(second!, 'HTTP 503 from a.test', later(20_000), later(17_000)));
      const [failed] = await outbox.troubled(10);
      t.match(failed, { alertId: 'lease', state: 'pending', attempts: 2, lastError: 'HTTP 503 from a.test', claimToken: null });
      t.same(failed!.nextAttemptAt, later(20_000));
      const [third] = await outbox.claim([lease], later(20_000), 5000, 10, 'worker-c');
      t.ok(await outbox.attemptFailed(third!, 'HTTP 503 from a.test', null, later(21_000)));
      t.match((await outbox.troubled(10))[0], { state: 'failed', attempts: 3 }, 'given up');
      t.same(await outbox.claim([lease], later(99_000_000), 5000, 10, 'worker-d'), [], 'a given-up row is not retried');
    });
  });
}
