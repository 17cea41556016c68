/**
 * Deferred writes (TransactionOptions.deferWrites) against SQLite and
 * MariaDB: they commit with their transaction, a later read of the same
 * transaction sees them, a failing one rolls the whole transaction back,
 * values reach the database exactly as bound (MySQL sends them escaped in a
 * multi-statement round trip), and a round trip's worth is cut by size.
 * On MariaDB, a commit round trip that dies is answered and not run again.
 */
import t from 'tap';
import { DuplicateKeyError, StoreError } from '../../db/store.js';
import { SqlStore } from '../../db/sql-store.js';
import { BACKENDS, hex, imaEvents, newAttestation, newMachine } from '../helpers/store-fixtures.js';
import { killConnection } from '../helpers/mariadb.js';
import { mysqlTraffic } from '../../db/mysql-traffic.js';

const DEFER = { deferWrites: true };
/** Quotes, backslashes, a NUL, a statement separator, comment markers and characters beyond the BMP. */
const HOSTILE = `it's "quoted" \\ back\\slash \\' \0 nul; DROP TABLE machines; -- /* 💥 */ \n\r\t ﻿`;

for (const backend of BACKENDS) {
  t.test(backend.name, async (t) => {
    const store = (await backend.open(t)) as SqlStore;
    const machineId = await store.transaction((tx) => tx.insertMachine(newMachine('defer.example', { imaevents: 0 })));

    t.test('deferred writes commit with their transaction, and a later read of it sees them', async (t) => {
      const id = await store.transaction((tx) => tx.insertAttestation(newAttestation(machineId, 'defer.example', 'defer 1')));
      const seen = await store.transaction(async (tx) => {
        await tx.updateAttestation(id, { quoted: new Date(), quoteverified: true, errorMessage: 'accepted' });
        await tx.insertImaEvents(imaEvents(machineId, id, 'defer.example', 0, 10));
        await tx.updateMachine(machineId, { imaevents: 10 });
        return (await tx.quoteState('defer.example', hex('nonce defer 1')))!;
      }, DEFER);
      t.equal(seen.machine.imaevents, 10, 'the machine update was sent ahead of the read');
      t.equal(seen.nonce?.quoted instanceof Date, true, 'so was the attestation update');
      t.equal((await store.getMachine('defer.example'))!.imaevents, 10, 'committed');
      t.equal((await store.getAttestation(id))!.errorMessage, 'accepted');
      t.equal((await store.driver.all('SELECT COUNT(*) AS n FROM imalog WHERE attestation_id = ?', [id]))[0]!.n, 10);
    });

    t.test('a deferred write that fails rolls back the whole transaction, earlier writes included', async (t) => {
      const ek = hex('ek one of a kind');
      await store.transaction((tx) => tx.insertMachine(newMachine('holder.example', { enrolled: new Date(), ekFingerprint: ek })));
      const before = (await store.getMachine('defer.example'))!;
      let inserted = 0;
      const err = await store
        .transaction(async (tx) => {
          inserted = await tx.insertAttestation(newAttestation(machineId, 'defer.example', 'doomed'));
          await tx.updateAttestation(inserted, { errorMessage: 'doomed' });
          // The same EK enrolled under a second hostname: refused by the unique index only the database knows.
          await tx.updateMachine(machineId, { enrolled: new Date(), ekFingerprint: ek });
        }, DEFER)
        .catch((e) => e);
      t.type(err, DuplicateKeyError, 'the unique index refused it at commit');
      t.equal((err as DuplicateKeyError).key, 'machines_enrolled_ek_uq');
      t.equal(await store.getAttestation(inserted), undefined, 'the attestation inserted at once is rolled back');
      const after = (await store.getMachine('defer.example'))!;
      t.same([after.enrolled, after.ekFingerprint], [before.enrolled, before.ekFingerprint], 'the machine is as it was');
    });

    // SQLite makes no round trips.
    if (backend.name === 'mariadb') t.test('the driver counts each round trip it makes: START TRANSACTION alone, the read, the writes with COMMIT', async (t) => {
      const id = await store.transaction((tx) => tx.insertAttestation(newAttestation(machineId, 'defer.example', 'counted')));
      const before = { ...mysqlTraffic };
      await store.transaction(async (tx) => {
        await tx.quoteState('defer.example', hex('nonce counted'));
        await tx.updateAttestation(id, { errorMessage: 'counted' });
        await tx.insertImaEvents(imaEvents(machineId, id, 'defer.example', 100, 3));
        await tx.updateMachine(machineId, { imaevents: 103 });
      }, DEFER);
      t.equal(mysqlTraffic.roundTrips - before.roundTrips, 3, 'START TRANSACTION, the prepared read, and one multi-statement round trip');
      t.equal(mysqlTraffic.statements - before.statements, 6, 'START TRANSACTION, the read, three writes and COMMIT');
    });

    t.test('values reach the database exactly as bound', async (t) => {
      const id = await store.transaction((tx) => tx.insertAttestation(newAttestation(machineId, 'defer.example', 'hostile')));
      const rows = imaEvents(machineId, id, 'defer.example', 0, 3).map((r, i) => ({ ...r, filename: `${HOSTILE}${i}` }));
      await store.transaction(async (tx) => {
        await tx.insertImaEvents(rows);
        await tx.updateAttestation(id, { errorMessage: HOSTILE });
      }, DEFER);
      const stored = await store.driver.all('SELECT filename FROM imalog WHERE attestation_id = ? ORDER BY entrynum', [id]);
      t.same(stored.map((r) => r.filename), rows.map((r) => r.filename), 'every file name byte for byte');
      t.equal((await store.getAttestation(id))!.errorMessage, HOSTILE);
      t.ok(await store.getMachine('defer.example'), 'the machines table is still there');
    });

    t.test('deferred rows beyond one round trip are cut by size, none lost', async (t) => {
      const id = await store.transaction((tx) => tx.insertAttestation(newAttestation(machineId, 'defer.example', 'wide')));
      // 1,200 rows of ~6 KB: over 7 MB of SQL, more than two round trips' worth.
      const rows = imaEvents(machineId, id, 'defer.example', 0, 1200).map((r) => ({ ...r, imaEntry: 'ab'.repeat(2000), filename: `/wide/${r.entrynum}/${'f'.repeat(2000)}` }));
      await store.transaction((tx) => tx.insertImaEvents(rows), DEFER);
      const stored = await store.driver.all('SELECT entrynum, filename FROM imalog WHERE attestation_id = ? ORDER BY entrynum', [id]);
      t.same(stored.map((r) => Number(r.entrynum)), rows.map((r) => r.entrynum), 'every row once, in order');
      t.ok(stored.every((r, i) => r.filename === rows[i]!.filename), 'values bound to their own rows');
    });

    if (store.dialect !== 'mysql') return;

    t.test('a commit round trip that dies is answered, never run again, and leaves nothing', async (t) => {
      let runs = 0;
      const err = await store.driver
        .transaction(async (conn) => {
          runs++;
          const [{ id }] = (await conn.all('SELECT CONNECTION_ID() AS id')) as [{ id: number }];
          conn.defer('UPDATE machines SET imaevents = ? WHERE id = ?', [12345, machineId]);
          conn.defer('DO SLEEP(5)');
          setTimeout(() => void killConnection(id), 300);
        })
        .catch((e) => e);
      t.type(err, StoreError);
      t.ok([0x80000040, 0x80000042].includes((err as StoreError).code), `answered ${(err as StoreError).code.toString(16)}`);
      t.equal(runs, 1, 'not run again: the commit may have happened');
      t.not((await store.getMachine('defer.example'))!.imaevents, 12345, 'the killed transaction left nothing');
    });
  });
}
