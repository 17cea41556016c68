/**
 * The web UI's read queries against SQLite and MariaDB: machine states,
 * report filters and cursor paging, firmware log lookup, IMA log paging.
 */
import t from 'tap';
import { forensicsQueries } from '../../db/forensics-sql.js';
import { QueryInputError } from '../../db/queries.js';
import { SqlStore } from '../../db/sql-store.js';
import type { Store } from '../../db/store.js';
import { BACKENDS, biosEvents, imaEvents, newAttestation, newMachine } from '../helpers/store-fixtures.js';

const NOW = new Date('2030-06-01T12:00:00.000Z');
const HOUR = 3600_000;
const BOOT1 = '2030-05-01 08:00:00';
const BOOT2 = '2030-05-31 08:00:00';

interface Report { failed?: boolean; pcrinvalid?: boolean; pcrschanged?: boolean; ago?: number; pending?: boolean }

/** Adds one machine with the given history of reports (oldest first); returns the attestation ids. */
async function machineWith(store: Store, hostname: string, reports: Report[]): Promise<{ id: number; reports: number[] }> {
  return store.transaction(async (tx) => {
    const id = await tx.insertMachine(newMachine(hostname, { enrolled: new Date(NOW.getTime() - 100 * HOUR) }));
    const ids: number[] = [];
    for (const [i, r] of reports.entries()) {
      const aid = await tx.insertAttestation(newAttestation(id, hostname, `${hostname}/${i}`, { timestamp: new Date(NOW.getTime() - (r.ago ?? 1) * HOUR) }));
      if (!r.pending) {
        await tx.updateAttestation(aid, {
          quoted: new Date(NOW.getTime() - (r.ago ?? 1) * HOUR),
          quoteverified: !r.failed,
          logverified: r.failed ? null : true,
          errorCode: r.failed ? '80000005' : null,
          pcrinvalid: r.pcrinvalid ?? false,
          pcrschanged: r.pcrschanged ?? false,
        });
      }
      ids.push(aid);
    }
    return { id, reports: ids };
  });
}

for (const backend of BACKENDS) {
  t.test(backend.name, async (t) => {
    const store = await backend.open(t);
    const q = forensicsQueries(store.driver);
    const driver = (store as SqlStore).driver;
    let statements = 0;
    const all = driver.all.bind(driver);
    driver.all = (sql, params) => (statements++, all(sql, params));

    const trusted = await machineWith(store, 'trusted.example', [{ ago: 9 }, { ago: 8, pcrschanged: true }, { ago: 7 }, { ago: 6 }, { ago: 5 }, { ago: 4 }, { ago: 3 }, { pending: true }]);
    const failing = await machineWith(store, 'failing.example', [{ ago: 5 }, { ago: 2, failed: true }]);
    const invalid = await machineWith(store, 'invalid.example', [{ ago: 2, pcrinvalid: true, pcrschanged: true }]);
    const stale = await machineWith(store, 'stale.example', [{ ago: 72 }]);
    const never = await machineWith(store, 'never.example', [{ pending: true }]);
    const recovered = await machineWith(store, 'recovered.example', [{ ago: 3, failed: true }, { ago: 1 }]);

    t.test('overview counts machines by state in one statement', async (t) => {
      statements = 0;
      t.same(await q.overview({ now: NOW }), { machines: 6, trusted: 2, failing: 2, stale: 1, never: 1 });
      t.equal(statements, 1);
      t.same(await q.overview({ now: NOW, staleAfterMs: 2 * HOUR }), { machines: 6, trusted: 1, failing: 2, stale: 2, never: 1 });
    });

    t.test('machines: each with its last report and state, one statement', async (t) => {
      statements = 0;
      const list = await q.machines({ now: NOW });
      t.equal(statements, 1, 'no statement per machine');
      t.same(list.map((s) => [s.machine.hostname, s.state, s.last?.id ?? null]), [
        ['failing.example', 'failing', failing.reports[1]],
        ['invalid.example', 'failing', invalid.reports[0]],
        ['never.example', 'never', null],
        ['recovered.example', 'trusted', recovered.reports[1]],
        ['stale.example', 'stale', stale.reports[0]],
        ['trusted.example', 'trusted', trusted.reports[6]],
      ]);
      const last = (await store.getAttestation(failing.reports[1]!))!;
      const m = (await store.getMachine('failing.example'))!;
      const { quote: _quote, pcrs: _pcrs, verdict: _verdict, ...summary } = last;
      t.same(list[0]!.last, summary, 'the list\'s last report: every column but the quote, the PCRs and the verdict');
      t.same(list[0]!.machine, {
        id: m.id, hostname: m.hostname, tpmvendor: m.tpmvendor, ekAlg: m.ekAlg, akAlg: m.akAlg, enrolled: m.enrolled, boottime: m.boottime, imaevents: m.imaevents,
      }, 'the list\'s machine: the columns it shows');
      t.same(await q.machine(failing.id, { now: NOW }), { machine: m, last, state: 'failing' }, 'one machine: the full rows');
      t.same((await q.machines({ now: NOW, state: 'failing' })).map((s) => s.machine.id), [failing.id, invalid.id]);
      const one = await q.machine(never.id, { now: NOW });
      t.equal(one?.state, 'never');
      t.equal(one?.last, null);
      t.equal(await q.machine(99999), undefined);
    });

    t.test('reports: newest first, cursor paging, pending left out', async (t) => {
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await q.reports({ hostname: 'trusted.example', limit: 3, cursor });
        t.ok(page.items.length <= 3);
        seen.push(...page.items.map((r) => r.id));
        cursor = page.next ?? undefined;
        pages++;
      } while (cursor);
      t.same(seen, trusted.reports.slice(0, 7).reverse(), 'every report once, newest first');
      t.equal(pages, 3);
      const withPending = await q.reports({ machineId: trusted.id, includePending: true });
      t.equal(withPending.items[0]!.id, trusted.reports[7], 'the pending nonce is listed when asked');
      t.equal(withPending.next, null);
      t.same((await q.reports({ hostname: 'nobody' })).items, []);
    });

    t.test('reports: failed / pcrinvalid / pcrschanged / latest per host', async (t) => {
      const ids = async (f: Parameters<typeof q.reports>[0]) => (await q.reports(f)).items.map((r) => r.id);
      t.same(await ids({ failed: true }), [recovered.reports[0], failing.reports[1]]);
      t.same(await ids({ pcrinvalid: true }), [invalid.reports[0]]);
      t.same(await ids({ pcrschanged: true }), [invalid.reports[0], trusted.reports[1]]);
      t.same(await ids({ latestPerHost: true }), [recovered.reports[1], invalid.reports[0], failing.reports[1], stale.reports[0], trusted.reports[6]].sort((a, b) => b! - a!));
      t.same(await ids({ latestPerHost: true, failed: true }), [failing.reports[1]], 'hosts whose last report failed');
      t.same(await ids({ failed: false, hostname: 'failing.example' }), [failing.reports[0]]);
      // Flags never set (NULL) count as not pcrinvalid and not pcrschanged.
      await store.transaction((tx) => tx.updateAttestation(recovered.reports[0]!, { pcrinvalid: null, pcrschanged: null }));
      t.same(await ids({ pcrinvalid: false, hostname: 'recovered.example' }), [recovered.reports[1], recovered.reports[0]]);
      t.same(await ids({ pcrschanged: false, hostname: 'recovered.example' }), [recovered.reports[1], recovered.reports[0]]);
      t.same(await ids({ pcrinvalid: true, hostname: 'recovered.example' }), []);
      t.same(await q.report(invalid.reports[0]!), await store.getAttestation(invalid.reports[0]!));
      t.equal(await q.report(123456), undefined);
    });

    t.test('biosLog: the firmware log this attestation or its boot carried', async (t) => {
      const [first, second, third] = trusted.reports;
      await store.transaction((tx) => tx.insertBiosEvents(biosEvents(trusted.id, second!, 'trusted.example', 5)));
      const own = await q.biosLog(second!);
      t.equal(own.attestationId, second);
      t.same(own.events.map((e) => e.entrynum), [0, 1, 2, 3, 4]);
      t.equal(own.events[3]!.biosEntry.length, 64 * 2 * 200);
      const later = await q.biosLog(third!);
      t.equal(later.attestationId, second, 'a later attestation of the boot shows the log its boot sent');
      t.same(later.events, own.events);
      t.same(await q.biosLog(first!), { attestationId: null, events: [] }, 'nothing before the first log');
      t.same(await q.biosLog(failing.reports[1]!), { attestationId: null, events: [] }, 'never another machine\'s log');
    });

    t.test('IMA log: boots, status filter, path search, cursor paging', async (t) => {
      const [, , , a4, a5] = trusted.reports;
      await store.transaction(async (tx) => {
        await tx.insertImaEvents(imaEvents(trusted.id, a4!, 'trusted.example', 0, 6, { boottime: BOOT1, nosig: false }));
        await tx.insertImaEvents([
          ...imaEvents(trusted.id, a5!, 'trusted.example', 0, 4, { boottime: BOOT2, nosig: false }),
          ...imaEvents(trusted.id, a5!, 'trusted.example', 4, 1, { boottime: BOOT2, nosig: false, badsig: true, filename: '/usr/bin/evil' }),
          ...imaEvents(trusted.id, a5!, 'trusted.example', 5, 1, { boottime: BOOT2, nosig: false, badevent: true }),
          // The same entry sent again by a later attestation of the boot.
          ...imaEvents(trusted.id, a5!, 'trusted.example', 5, 1, { boottime: BOOT2, nokey: true, nosig: true }),
          ...imaEvents(trusted.id, a5!, 'trusted.example', 6, 3, { boottime: BOOT2, nosig: false }),
        ]);
      });
      const boots = await q.imaBoots(trusted.id);
      t.same(boots.map((b) => [b.boottime, b.events, b.problems, b.firstEntry, b.lastEntry]), [
        [BOOT2, 10, 3, 0, 8],
        [BOOT1, 6, 0, 0, 5],
      ]);
      t.type(boots[0]!.firstSeen, Date);

      const entries = async (f: Partial<Parameters<typeof q.imaLog>[0]>) =>
        (await q.imaLog({ machineId: trusted.id, boottime: BOOT2, ...f })).items.map((e) => e.entrynum);
      t.same(await entries({ status: 'problem' }), [4, 5, 5]);
      t.same(await entries({ status: 'badsig' }), [4]);
      t.same(await entries({ status: 'badevent' }), [5]);
      t.same(await entries({ status: 'nokey' }), [5]);
      t.same(await entries({ status: 'nosig' }), [5]);
      t.same(await entries({ status: 'ok' }), [0, 1, 2, 3, 6, 7, 8]);
      t.same(await entries({ path: '/usr/bin/evil' }), [4]);
      t.same(await entries({ path: '/USR/BIN' }), [], 'path search is case-sensitive, like the file system');
      t.same(await entries({ path: '%' }), [], 'LIKE wildcards are plain characters');
      t.same(await entries({ boottime: BOOT1 }), [0, 1, 2, 3, 4, 5]);
      t.same(await entries({ boottime: null }), []);

      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await q.imaLog({ machineId: trusted.id, boottime: BOOT2, limit: 4, cursor });
        seen.push(...page.items.map((e) => `${e.entrynum}${e.nokey ? 'k' : ''}`));
        cursor = page.next ?? undefined;
      } while (cursor);
      t.same(seen, ['0', '1', '2', '3', '4', '5', '5k', '6', '7', '8'], 'every event once, in log order, across pages');
    });

    t.test('malformed paging input is a QueryInputError', async (t) => {
      await t.rejects(q.reports({ cursor: '1 OR 1=1' }), QueryInputError);
      await t.rejects(q.reports({ limit: 0 }), QueryInputError);
      await t.rejects(q.reports({ limit: 10_000 }), QueryInputError);
      await t.rejects(q.imaLog({ machineId: 1, boottime: null, cursor: '5' }), QueryInputError);
      await t.rejects(q.imaLog({ machineId: 1, boottime: null, status: 'evil' as 'ok' }), QueryInputError);
      await t.rejects(q.machines({ state: 'evil' as 'never' }), QueryInputError);
    });

    t.test('a last report without both quoteverified = 1 and logverified = 1 never makes a machine trusted', async (t) => {
      const cases = [
        ['quote-only.example', { quoteverified: true, logverified: null }],
        ['log-only.example', { quoteverified: null, logverified: true }],
        ['log-false.example', { quoteverified: true, logverified: false }],
        ['verified.example', { quoteverified: true, logverified: true }],
      ] as const;
      for (const [hostname, flags] of cases) {
        const m = await machineWith(store, hostname, [{ ago: 1 }]);
        await store.transaction((tx) => tx.updateAttestation(m.reports[0]!, flags));
        t.equal((await q.machine(m.id, { now: NOW }))?.state, hostname === 'verified.example' ? 'trusted' : 'failing', hostname);
        // A stale unverified report is failing, not merely stale.
        t.equal((await q.machine(m.id, { now: new Date(NOW.getTime() + 48 * HOUR) }))?.state, hostname === 'verified.example' ? 'stale' : 'failing');
      }
    });
  });
}
