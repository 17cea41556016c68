/**
 * machine.stale on SQLite and MariaDB: a machine whose last passing report
 * is older than the stale limit raises machine.stale and a change to stale
 * once for that report, however often it is checked and by how many
 * servers; a failing machine, a fresh one and one never attested raise
 * nothing; its next report makes the next staleness a new alert.
 */
import t from 'tap';
import { pino } from 'pino';
import { OutboxSql } from '../../db/alert-outbox.js';
import type { Store } from '../../db/store.js';
import { outboxRows, type AlertInput } from '../../server/alerts/alert.js';
import { StaleWatch } from '../../server/alerts/stale-watch.js';
import { BACKENDS, newAttestation, newMachine } from '../helpers/store-fixtures.js';

const HOUR = 3600_000;
const NOW = new Date('2026-12-04T08:00:00Z');

async function machineWithReport(store: Store, hostname: string, quotedHoursAgo: number | null, failed = false): Promise<number> {
  return store.transaction(async (tx) => {
    const id = await tx.insertMachine(newMachine(hostname, { enrolled: NOW }));
    if (quotedHoursAgo === null) return id;
    const a = await tx.insertAttestation(newAttestation(id, hostname, `${hostname}-${quotedHoursAgo}`));
    await tx.updateAttestation(a, {
      quoted: new Date(NOW.getTime() - quotedHoursAgo * HOUR), quoteverified: true, logverified: !failed, errorCode: failed ? '90000020' : null,
    });
    return a;
  });
}

for (const backend of BACKENDS) {
  t.test(backend.name, async (t) => {
    const store = await backend.open(t);
    const driver = store.driver;
    const watch = () =>
      new StaleWatch(driver, {
        raise: (alerts: AlertInput[]) => store.transaction((tx) => tx.insertAlerts(outboxRows(alerts, ['log'], NOW))),
        reportRef: (id) => ({ id, url: `https://acs.example/reports/${id}` }),
      }, 24 * HOUR, 60_000, pino({ level: 'silent' }), () => NOW);
    const staleReport = await machineWithReport(store, 'quiet.example', 30);
    await machineWithReport(store, 'busy.example', 1);
    await machineWithReport(store, 'broken.example', 30, true);
    await machineWithReport(store, 'new.example', null);

    t.equal(await watch().check(), 1, 'one machine went stale');
    const [a, b] = [watch(), watch()];
    // Two servers checking at once may both see it new; the outbox keeps one of each alert id.
    await Promise.all([a.check(), b.check()]);
    const rows = await new OutboxSql(driver).recent(10);
    t.same(rows.map((r) => r.type).sort(), ['machine.stale', 'machine.state_changed'], 'raised once');
    const stale = JSON.parse(rows.find((r) => r.type === 'machine.stale')!.body);
    t.match(stale, { hostname: 'quiet.example', report: { id: staleReport }, details: { staleAfterSeconds: 86_400 } });
    t.match(JSON.parse(rows.find((r) => r.type === 'machine.state_changed')!.body), { details: { old: 'trusted', new: 'stale' } });

    await store.transaction(async (tx) => {
      const m = (await tx.machineForUpdate('quiet.example'))!;
      const next = await tx.insertAttestation(newAttestation(m.id, m.hostname, 'quiet-next'));
      await tx.updateAttestation(next, { quoted: new Date(NOW.getTime() - 25 * HOUR), quoteverified: true, logverified: true });
    });
    t.equal(await watch().check(), 1, 'a later report that went stale too is news');
    t.equal((await new OutboxSql(driver).recent(10)).length, 4);
  });
}
