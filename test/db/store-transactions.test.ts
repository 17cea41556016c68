/**
 * Transactions against SQLite and MariaDB: all-or-nothing, row locks that
 * serialize concurrent read-modify-write, large batch inserts.
 */
import t from 'tap';
import { setImmediate as tick } from 'node:timers/promises';
import { forensicsQueries } from '../../db/forensics-sql.js';
import { StoreError } from '../../db/store.js';
import { BACKENDS, biosEvents, imaEvents, newAttestation, newMachine } from '../helpers/store-fixtures.js';

const BOOT = '2030-01-01 00:00:00';

function latch(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => { open = resolve; });
  return { open, opened };
}

for (const backend of BACKENDS) {
  t.test(backend.name, async (t) => {
    const store = await backend.open(t);
    const queries = forensicsQueries(store.driver);
    const machineId = await store.transaction((tx) => tx.insertMachine(newMachine('tx.example', { imaevents: 0 })));

    t.test('a failure thrown mid-transaction leaves nothing behind', async (t) => {
      const boom = new Error('verification failed');
      let attestationId = 0;
      const err = await store
        .transaction(async (tx) => {
          attestationId = await tx.insertAttestation(newAttestation(machineId, 'tx.example', 'rolled back'));
          await tx.insertBiosEvents(biosEvents(machineId, attestationId, 'tx.example', 20));
          await tx.insertImaEvents(imaEvents(machineId, attestationId, 'tx.example', 0, 1500));
          await tx.updateMachine(machineId, { imaevents: 1500, imapcr: 'ff'.repeat(32) });
          throw boom;
        })
        .catch((e) => e);
      t.equal(err, boom, 'the caller gets its own error back');
      t.ok(attestationId > 0);
      t.equal(await store.getAttestation(attestationId), undefined, 'attestation rolled back');
      t.same((await queries.biosLog(attestationId)).events, [], 'firmware events rolled back');
      t.same(await queries.imaBoots(machineId), [], 'IMA events rolled back');
      const m = (await store.getMachine('tx.example'))!;
      t.equal(m.imaevents, 0, 'machine update rolled back');
      t.equal(m.imapcr, null);
    });

    t.test('a statement failing mid-transaction rolls back the earlier ones', async (t) => {
      const taken = newAttestation(machineId, 'tx.example', 'taken');
      await store.transaction((tx) => tx.insertAttestation(taken));
      const err = await store
        .transaction(async (tx) => {
          const id = await tx.insertAttestation(newAttestation(machineId, 'tx.example', 'first'));
          await tx.insertImaEvents(imaEvents(machineId, id, 'tx.example', 0, 10));
          await tx.insertAttestation(taken);
        })
        .catch((e) => e);
      t.type(err, StoreError);
      t.equal((await queries.reports({ machineId, includePending: true })).items.length, 1, 'only the committed attestation remains');
      t.same(await queries.imaBoots(machineId), []);
    });

    t.test('50 concurrent read-modify-write transactions on one machine lose no update', async (t) => {
      const start = (await store.getMachine('tx.example'))!.imaevents!;
      await Promise.all(
        Array.from({ length: 50 }, () =>
          store.transaction(async (tx) => {
            const m = (await tx.machineForUpdate('tx.example'))!;
            await tick(); // let the other transactions run between the read and the write
            await tx.updateMachine(m.id, { imaevents: m.imaevents! + 1 });
          }),
        ),
      );
      t.equal((await store.getMachine('tx.example'))!.imaevents, start + 50);
    });

    t.test('reads inside a transaction see its writes; transactions do not nest', async (t) => {
      await store.transaction(async (tx) => {
        await tx.updateMachine(machineId, { tpmvendor: 'inside' });
        t.equal((await store.getMachine('tx.example'))?.tpmvendor, 'inside', 'store reads run on the transaction');
        const nested = await store.transaction(async () => 1).catch((e) => e);
        t.type(nested, StoreError);
        t.equal(nested.code, 0x80000042);
      });
      t.equal((await store.getMachine('tx.example'))?.tpmvendor, 'inside');
    });

    t.test('two enrollments of new hostnames interleaved: neither waits for the other nor runs again', { skip: store.driver.dialect !== 'mysql' && 'SQLite runs one transaction at a time' }, async (t) => {
      // Each locking read of a missing hostname, then each INSERT: under
      // REPEATABLE READ both reads take the same gap lock and the INSERTs
      // deadlock, so one transaction is rolled back and run again.
      const runs = { a: 0, b: 0 };
      const aRead = latch();
      const bRead = latch();
      await Promise.all([
        store.transaction(async (tx) => {
          runs.a += 1;
          t.equal(await tx.machineForUpdate('gap-a.example'), undefined);
          aRead.open();
          await bRead.opened;
          await tx.insertMachine(newMachine('gap-a.example'));
        }),
        store.transaction(async (tx) => {
          runs.b += 1;
          await aRead.opened;
          t.equal(await tx.machineForUpdate('gap-b.example'), undefined);
          bRead.open();
          await tx.insertMachine(newMachine('gap-b.example'));
        }),
      ]);
      t.same(runs, { a: 1, b: 1 }, 'each transaction ran once');
      t.ok(await store.getMachine('gap-a.example'));
      t.ok(await store.getMachine('gap-b.example'));
    });

    t.test('IMA rows past the batch size limit: split across INSERTs, none lost', async (t) => {
      const id = await store.transaction((tx) => tx.insertAttestation(newAttestation(machineId, 'tx.example', 'wide')));
      // 1,200 rows of ~6 KB: over 7 MB of values, several 2 MiB chunks, each ended by size, not row count.
      const rows = imaEvents(machineId, id, 'tx.example', 0, 1200).map((r) => ({ ...r, boottime: '2030-02-01 00:00:00', imaEntry: 'ab'.repeat(2000), filename: `/wide/${r.entrynum}/${'f'.repeat(2000)}` }));
      await store.transaction((tx) => tx.insertImaEvents(rows));
      const stored = await store.driver.all('SELECT entrynum, filename FROM imalog WHERE attestation_id = ? ORDER BY entrynum', [id]);
      t.same(stored.map((r) => Number(r.entrynum)), rows.map((r) => r.entrynum), 'every row once, in order');
      t.ok(stored.every((r, i) => r.filename === rows[i]!.filename), 'values bound to their own rows');
    });

    t.test('20,000 IMA events in one transaction', async (t) => {
      const id = await store.transaction((tx) => tx.insertAttestation(newAttestation(machineId, 'tx.example', 'big')));
      const rows = imaEvents(machineId, id, 'tx.example', 0, 20_000);
      rows[19_999]!.filename = '/last/file with spaces & "quotes"';
      const started = Date.now();
      await store.transaction((tx) => tx.insertImaEvents(rows));
      const elapsed = Date.now() - started;
      t.ok(elapsed < 20_000, `inserted in ${elapsed} ms`);
      const [boot] = await queries.imaBoots(machineId);
      t.same({ ...boot, firstSeen: undefined, lastSeen: undefined }, {
        boottime: BOOT, events: 20_000, problems: 20_000, firstEntry: 0, lastEntry: 19_999, firstSeen: undefined, lastSeen: undefined,
      }, 'every row counted (nosig counts as a problem)');
      const last = await queries.imaLog({ machineId, boottime: BOOT, path: '/last/' });
      t.equal(last.items.length, 1);
      t.equal(last.items[0]!.entrynum, 19_999);
      t.equal(last.items[0]!.filename, '/last/file with spaces & "quotes"');
    });
  });
}
