/**
 * The fleet searches in both dialects, over rows written through the store:
 * exact matches by digest, path, prefix and path with another digest, time
 * bounds, keyset pages that add up to the whole result, first/last seen per
 * machine and file, PCR values of each machine's latest accepted report
 * (a later refused one does not count), firmware digests, and the IMA
 * changes between two boots. Each search is answered through its index.
 */
import t from 'tap';
import { SqlStore } from '../../db/sql-store.js';
import { SqlSearch } from '../../db/search-sql.js';
import type { ImaEventRow } from '../../db/store.js';
import { BACKENDS, at, biosEvents, hex, imaEvents, newAttestation, newMachine, pcrBanks } from '../helpers/store-fixtures.js';
import { queryPlans } from '../helpers/query-plans.js';

const B1 = '2030-01-01 00:00:00';
const B2 = '2030-01-08 00:00:00';
const SSHD = `sha256:${hex('sshd')}`;
const SSHD_OTHER = `sha256:${hex('sshd other')}`;
const LIBC = `sha256:${hex('libc')}`;

/** Rows for files [path, filehash] of one boot. */
function files(list: [string, string | null][], boottime: string, time: string): Partial<ImaEventRow>[] {
  return list.map(([filename, filehash]) => ({ filename, filehash, boottime, timestamp: at(time) }));
}

for (const backend of BACKENDS) {
  t.test(backend.name, async (t) => {
    const store = await backend.open(t);
    const driver = (store as SqlStore).driver;
    const search = new SqlSearch(driver);
    const ids: Record<string, { machine: number; reports: number[] }> = {};
    const add = async (host: string, boots: { boottime: string; time: string; files: [string, string | null][]; pcr0: string; refused?: boolean }[]) => {
      await store.transaction(async (tx) => {
        const machine = await tx.insertMachine(newMachine(host));
        const reports: number[] = [];
        for (const [k, b] of boots.entries()) {
          const aid = await tx.insertAttestation(newAttestation(machine, host, `${host} ${k}`, { boottime: b.boottime }));
          const pcrs = pcrBanks(host);
          pcrs.sha256[0] = b.pcr0;
          await tx.updateAttestation(aid, b.refused
            ? { quoted: at(b.time), errorCode: '90000020', errorMessage: 'refused', pcrs }
            : { quoted: at(b.time), quoteverified: true, logverified: true, pcrs });
          if (b.refused) continue;
          const bios = biosEvents(machine, aid, host, 4);
          bios[2]!.pcrsha256 = hex(`bootloader ${b.pcr0}`);
          await tx.insertBiosEvents(bios);
          const rows = files(b.files, b.boottime, b.time).map((over, i) => ({ ...imaEvents(machine, aid, host, i, 1)[0]!, ...over }));
          await tx.insertImaEvents(rows);
          reports.push(aid);
        }
        ids[host] = { machine, reports };
      });
    };
    await add('a.example', [
      { boottime: B1, time: '2030-01-01T01:00:00.000Z', pcr0: hex('fw 1'), files: [['/usr/sbin/sshd', SSHD], ['/usr/lib/libc.so.6', LIBC], ['/etc/motd', null]] },
      { boottime: B2, time: '2030-01-08T01:00:00.000Z', pcr0: hex('fw 2'), files: [['/usr/sbin/sshd', SSHD_OTHER], ['/usr/lib/libc.so.6', LIBC], ['/usr/lib/new.so', LIBC]] },
    ]);
    await add('b.example', [
      { boottime: B1, time: '2030-01-02T01:00:00.000Z', pcr0: hex('fw 1'), files: [['/usr/sbin/sshd', SSHD], ['/usr/libexec/x', LIBC]] },
      { boottime: B2, time: '2030-01-09T01:00:00.000Z', pcr0: hex('fw 9'), files: [], refused: true },
    ]);
    const a = ids['a.example']!.machine;
    const b = ids['b.example']!.machine;
    // A refused report of a's second boot whose entry is kept as evidence.
    const refusedReport = await store.transaction(async (tx) => {
      const aid = await tx.insertAttestation(newAttestation(a, 'a.example', 'a refused', { boottime: B2, newBoot: false, imaentry: 3 }));
      await tx.updateAttestation(aid, { quoted: at('2030-01-08T02:00:00.000Z'), errorCode: '90000020', errorMessage: 'refused' });
      await tx.insertImaEvents([{ ...imaEvents(a, aid, 'a.example', 3, 1)[0]!, ...files([['/tmp/evil', SSHD]], B2, '2030-01-08T02:00:00.000Z')[0]!, refused: true }]);
      return aid;
    });
    const brief = (p: { items: { hostname: string; boottime: string | null; entrynum: number }[] }) =>
      p.items.map((i) => `${i.hostname} ${i.boottime === B1 ? 1 : 2} ${i.entrynum}`);

    t.test('IMA searches', async (t) => {
      let r = await search.ima({ filehashes: [SSHD] });
      t.same(brief(r), ['a.example 1 0', 'a.example 2 3', 'b.example 1 0']);
      t.equal(r.machines, 2);
      t.same(r.items.map((i) => [i.firstSeen.toISOString(), i.lastSeen.toISOString(), i.refused, i.reportId]), [
        ['2030-01-01T01:00:00.000Z', '2030-01-01T01:00:00.000Z', false, ids['a.example']!.reports[0]],
        ['2030-01-08T02:00:00.000Z', '2030-01-08T02:00:00.000Z', true, refusedReport],
        ['2030-01-02T01:00:00.000Z', '2030-01-02T01:00:00.000Z', false, ids['b.example']!.reports[0]],
      ], 'the refused report\'s entry is found and says so');
      r = await search.ima({ filehashes: [LIBC] });
      t.same(brief(r), ['a.example 1 1', 'a.example 2 1', 'a.example 2 2', 'b.example 1 1']);
      t.same(r.items.slice(0, 2).map((i) => [i.firstSeen.toISOString(), i.lastSeen.toISOString()]),
        [['2030-01-01T01:00:00.000Z', '2030-01-08T01:00:00.000Z'], ['2030-01-01T01:00:00.000Z', '2030-01-08T01:00:00.000Z']], 'same path and digest on one machine: one span');
      t.same(brief(await search.ima({ path: '/usr/sbin/sshd', notFilehashes: [SSHD] })), ['a.example 2 0']);
      t.same(brief(await search.ima({ path: '/etc/motd', notFilehashes: [SSHD] })), ['a.example 1 2'], 'an entry without a digest differs from every digest');
      t.same(brief(await search.ima({ pathPrefix: '/usr/lib/' })), ['a.example 1 1', 'a.example 2 1', 'a.example 2 2'], 'prefix is a prefix, not /usr/libexec');
      t.same(brief(await search.ima({ pathPrefix: '/usr/lib' })), ['a.example 1 1', 'a.example 2 1', 'a.example 2 2', 'b.example 1 1']);
      t.same(brief(await search.ima({ pathPrefix: '/tmp/' })), ['a.example 2 3']);
      t.same(brief(await search.ima({ filehashes: [LIBC], machineId: b })), ['b.example 1 1']);
      t.same(brief(await search.ima({ filehashes: [LIBC], since: at('2030-01-05T00:00:00Z') })), ['a.example 2 1', 'a.example 2 2']);
      t.same(brief(await search.ima({ filehashes: [LIBC], until: at('2030-01-05T00:00:00Z') })), ['a.example 1 1', 'b.example 1 1']);
      t.same(await search.ima({ filehashes: [`sha256:${hex('none')}`] }), { items: [], next: null, machines: 0 });

      const all = brief(await search.ima({ pathPrefix: '/' }));
      const paged: string[] = [];
      let cursor: string | undefined;
      let machines = -1;
      do {
        const p = await search.ima({ pathPrefix: '/', limit: 2, cursor });
        paged.push(...brief(p));
        machines = p.machines;
        cursor = p.next ?? undefined;
      } while (cursor);
      t.same(paged, all, 'pages of 2 add up to the whole result');
      t.equal(machines, 2, 'every page counts all matching machines');
    });

    t.test('firmware searches', async (t) => {
      let r = await search.pcrValue({ bank: 'sha256', pcr: 0, value: hex('fw 1') });
      t.same(r.items.map((i) => [i.hostname, i.reportId]), [['b.example', ids['b.example']!.reports[0]]], 'a is on fw 2 now; b\'s refused report does not count');
      r = await search.pcrValue({ bank: 'sha256', pcr: 0, value: hex('fw 2') });
      t.same(r.items.map((i) => i.hostname), ['a.example']);
      t.same((await search.pcrValue({ bank: 'sha256', pcr: 0, value: hex('fw 9') })).items, []);
      const d = await search.firmwareDigest({ bank: 'sha256', digest: hex(`bootloader ${hex('fw 1')}`) });
      t.same(d.items.map((i) => [i.hostname, i.entrynum, i.pcr]), [['a.example', 2, 2], ['b.example', 2, 2]]);
      t.equal(d.machines, 2);
      t.same((await search.firmwareDigest({ bank: 'sha1', digest: hex('bios sha1 1', 20), machineId: a })).items.map((i) => i.reportId), ids['a.example']!.reports);
    });

    t.test('file history and boot changes', async (t) => {
      const f = await search.fileHistory([LIBC]);
      t.equal(f.entries, 4);
      t.same(f.machines.map((m) => [m.hostname, m.entries]), [['a.example', 3], ['b.example', 1]]);
      t.same(f.paths.map((p) => [p.path, p.machines, p.entries]), [['/usr/lib/libc.so.6', 1, 2], ['/usr/libexec/x', 1, 1], ['/usr/lib/new.so', 1, 1]]);
      t.equal(f.firstSeen?.toISOString(), '2030-01-01T01:00:00.000Z');
      const changes = await search.imaChanges({ machineId: a, boottime: B1 }, { machineId: a, boottime: B2 }, 10);
      t.same(changes.items.map((c) => [c.entrynum, c.filename, c.changed]), [[0, '/usr/sbin/sshd', true], [2, '/usr/lib/new.so', false]], 'not the refused report\'s entry');
      const cross = await search.imaChanges({ machineId: b, boottime: B1 }, { machineId: a, boottime: B1 }, 1);
      t.same(cross.items.map((c) => c.filename), ['/usr/lib/libc.so.6'], 'limit');
      t.equal(cross.more, true);
      t.equal(await search.lastVerifiedReportId({ machineId: b, boottime: B2 }), undefined, 'a boot with only a refused report');
    });

    t.test('each search reads its index', async (t) => {
      const plan = async (run: () => Promise<unknown>): Promise<string> => (await queryPlans(driver, run)).join(' | ');
      t.match(await plan(() => search.ima({ filehashes: [SSHD] })), /imalog_filehash_idx/);
      t.match(await plan(() => search.ima({ path: '/usr/sbin/sshd', notFilehashes: [SSHD] })), /imalog_path_idx/);
      t.match(await plan(() => search.firmwareDigest({ bank: 'sha256', digest: hex('x') })), /bioslog_sha256_idx/);
      t.match(await plan(() => search.imaChanges({ machineId: a, boottime: B1 }, { machineId: a, boottime: B2 }, 10)), /imalog_boot_entry_idx/);
    });
  });
}
