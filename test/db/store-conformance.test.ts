/**
 * The Store contract, row by row, against SQLite and a real MariaDB.
 */
import t from 'tap';
import { forensicsQueries } from '../../db/forensics-sql.js';
import { parseTime } from '../../db/driver.js';
import { DuplicateKeyError, StoreError, type MachineRow } from '../../db/store.js';
import { BACKENDS, at, biosEvents, hex, imaEvents, newAttestation, newMachine, pcrBanks } from '../helpers/store-fixtures.js';

const HOSTILE_HOSTNAMES = [
  `<img src=x onerror=alert(1)>'; DROP TABLE machines; --`,
  `host"with"double'and'single\`back\`quotes`,
  'back\\slash\\\\ and 100% _under_ %',
  'ünïcødé-ホスト-主机-😀-\u{1F9EA}',
  'Combining e\u0301 vs \u00e9',
  'tab\tnewline\ncr\r',
  'CaseSensitive.example',
  'casesensitive.example',
  'x'.repeat(255),
  '\u{1F600}'.repeat(255),
];

for (const backend of BACKENDS) {
  t.test(backend.name, async (t) => {
    const store = await backend.open(t);
    const queries = forensicsQueries(store.driver);
    t.equal(store.dialect, backend.name === 'sqlite' ? 'sqlite' : 'mysql');

    let machine: MachineRow;

    t.test('insertMachine / getMachine round-trip every field', async (t) => {
      const m = newMachine('alpha.example', { enrolled: at('2030-01-01T00:00:01.500Z'), imaevents: 7, resetCount: 4294967295 });
      const before = Date.now();
      const id = await store.transaction((tx) => tx.insertMachine(m));
      t.ok(Number.isInteger(id) && id > 0, 'insert returns the new id');
      const got = await store.getMachine('alpha.example');
      t.ok(got);
      machine = got!;
      const { id: gotId, createdAt, updatedAt, ...fields } = machine;
      t.equal(gotId, id);
      t.same(fields, { ...m, policyViolations: null }, 'every field reads back as written; no policy has judged it yet');
      t.ok(createdAt instanceof Date && createdAt.getTime() >= before - 1000 && createdAt.getTime() <= Date.now() + 1000);
      t.same(updatedAt, createdAt);
      t.equal(await store.getMachine('ALPHA.example'), undefined, 'hostnames compare exactly');
    });

    t.test('updateMachine patches only the given fields', async (t) => {
      const whitelist = pcrBanks('white');
      await new Promise((r) => setTimeout(r, 5));
      await store.transaction(async (tx) => {
        const locked = await tx.machineForUpdate('alpha.example');
        const { ekcertificatepem, ekcertificatetext, akcertificatepem, akcertificatetext, ...state } = machine;
        t.ok(ekcertificatepem && ekcertificatetext && akcertificatepem !== undefined && akcertificatetext !== undefined);
        t.same(locked, state, 'machineForUpdate reads the same row without its certificates');
        t.notOk(locked && 'ekcertificatepem' in locked, 'the certificate columns are not read');
        t.same(await store.machineWithoutCerts('alpha.example'), state, 'machineWithoutCerts reads the same, unlocked');
        await tx.updateMachine(machine.id, {
          challenge: null, challengeExpires: null, whitelist, imapcr: hex('imapcr'), imapcrSha1: hex('imapcr1', 20), imaevents: 1234,
          akcertificatepem: 'AK PEM', akcertificatetext: 'AK TEXT', restartCount: 0, boottime: null,
        });
      });
      const got = (await store.getMachine('alpha.example'))!;
      t.same(got.whitelist, whitelist, 'PCR white list: 48 columns back into two banks, nulls kept');
      t.equal(got.challenge, null);
      t.equal(got.challengeExpires, null);
      t.equal(got.imapcr, hex('imapcr'));
      t.equal(got.imapcrSha1, hex('imapcr1', 20));
      t.equal(got.imaevents, 1234);
      t.equal(got.akcertificatepem, 'AK PEM');
      t.equal(got.restartCount, 0);
      t.equal(got.boottime, null);
      t.equal(got.ekcertificatepem, machine.ekcertificatepem, 'untouched fields stay');
      t.equal(got.resetCount, 4294967295);
      t.ok(got.updatedAt.getTime() > got.createdAt.getTime(), 'updatedAt moves');
      t.same(got.createdAt, machine.createdAt);
      t.equal(await store.transaction((tx) => tx.machineForUpdate('nobody.example')), undefined);
    });

    t.test('machinesByEkFingerprint lists every machine with that EK in id order', async (t) => {
      const shared = hex('shared ek');
      const ids = await store.transaction(async (tx) => [
        await tx.insertMachine(newMachine('ek-one.example', { ekFingerprint: shared })),
        await tx.insertMachine(newMachine('ek-two.example', { ekFingerprint: shared, pendingAttestpub: 'aa', pendingAkName: 'bb', pendingAkAlg: 'ecc' })),
      ]);
      const found = await store.transaction((tx) => tx.machinesByEkFingerprint(shared));
      t.same(found.map((m) => m.id), ids);
      t.same([found[1]!.pendingAttestpub, found[1]!.pendingAkName, found[1]!.pendingAkAlg], ['aa', 'bb', 'ecc']);
      t.same(await store.transaction((tx) => tx.machinesByEkFingerprint(hex('nobody'))), []);
    });

    t.test('a duplicate hostname is a DuplicateKeyError naming the index', async (t) => {
      const err = await store.transaction((tx) => tx.insertMachine(newMachine('alpha.example'))).catch((e) => e);
      t.type(err, DuplicateKeyError);
      t.equal(err.code, 0x80000041);
      t.equal(err.key, 'machines_hostname_uq');
    });

    t.test('hostile hostnames are stored and found verbatim', async (t) => {
      for (const hostname of HOSTILE_HOSTNAMES) {
        await store.transaction((tx) => tx.insertMachine(newMachine(hostname)));
      }
      for (const hostname of HOSTILE_HOSTNAMES) {
        const got = await store.getMachine(hostname);
        t.equal(got?.hostname, hostname, JSON.stringify(hostname).slice(0, 40));
      }
      const all = (await queries.machines()).map((s) => s.machine.hostname);
      for (const hostname of HOSTILE_HOSTNAMES) t.ok(all.includes(hostname));
      t.equal(await store.getMachine('Combining \u00e9 vs \u00e9'), undefined, 'no Unicode folding');
      t.equal(await store.getMachine('x'.repeat(255) + ' '), undefined, 'no trailing-space folding');
    });

    t.test('attestations: insert, find by nonce, pending, update, last verified', async (t) => {
      const a1 = newAttestation(machine.id, machine.hostname, 'a1');
      const id1 = await store.transaction((tx) => tx.insertAttestation(a1));
      const row = (await store.getAttestation(id1))!;
      t.same(row, {
        ...a1, id: id1, quote: null, quoted: null, pcrs: null, pcrschanged: null, pcrinvalid: null, quoteverified: null,
        logverified: null, logentries: null, imaevents: null, imaver: null, imasigver: null, badimalog: null,
        resetCount: null, restartCount: null, errorCode: null, errorMessage: null, diagnosis: null, verdict: null, policyViolations: null,
      }, 'a new attestation has only the nonce fields');

      const id2 = await store.transaction((tx) => tx.insertAttestation(newAttestation(machine.id, machine.hostname, 'a2', { newBoot: false, biosentry: -1, imaentry: 42 })));
      t.ok(id2 > id1);
      await store.transaction(async (tx) => {
        t.equal((await tx.attestationByNonceForUpdate(machine.id, a1.nonce))?.id, id1);
        t.equal(await tx.attestationByNonceForUpdate(machine.id + 1000, a1.nonce), undefined, 'a nonce is bound to its machine');
        t.equal(await tx.attestationByNonceForUpdate(machine.id, hex('unknown')), undefined);
        t.equal((await tx.pendingAttestationForUpdate(machine.id))?.id, id2, 'newest pending first');
      });

      const pcrs = pcrBanks('quote');
      const patch = {
        quote: '{"command":"quote","hostname":"alpha"}', quoted: at('2030-01-02T03:04:06.250Z'), pcrs, pcrschanged: false,
        pcrinvalid: true, quoteverified: true, logverified: true, logentries: 5000, imaevents: 4321, imaver: true,
        imasigver: false, badimalog: false, resetCount: 4, restartCount: 0, newBoot: true,
      };
      await store.transaction((tx) => tx.updateAttestation(id2, patch));
      const updated = (await store.getAttestation(id2))!;
      t.same({ ...updated }, { ...newAttestation(machine.id, machine.hostname, 'a2', { biosentry: -1, imaentry: 42 }), ...patch, id: id2, errorCode: null, errorMessage: null, diagnosis: null, verdict: null, policyViolations: null });

      await store.transaction(async (tx) => {
        t.equal((await tx.pendingAttestationForUpdate(machine.id))?.id, id1, 'a quoted attestation is no longer pending');
        t.equal((await tx.lastVerifiedAttestation(machine.id, id2 + 1))?.id, id2);
        t.equal(await tx.lastVerifiedAttestation(machine.id, id2), undefined, 'only before the given id');
        await tx.updateAttestation(id1, { quoted: at('2030-01-02T03:04:07Z'), quoteverified: false, errorCode: '80000005', errorMessage: 'quote signature invalid' });
        t.equal(await tx.pendingAttestationForUpdate(machine.id), undefined);
      });
      const refused = (await store.getAttestation(id1))!;
      t.equal(refused.errorCode, '80000005');
      t.equal(refused.errorMessage, 'quote signature invalid');
      t.equal(refused.quoteverified, false);
      t.equal(await store.getAttestation(id2 + 1000), undefined);
    });

    t.test('a reused nonce is refused by the unique index', async (t) => {
      const err = await store
        .transaction((tx) => tx.insertAttestation(newAttestation(machine.id, machine.hostname, 'a1')))
        .catch((e) => e);
      t.type(err, DuplicateKeyError);
      t.equal(err.key, 'attestlog_nonce_uq');
    });

    t.test('firmware and IMA events are stored row for row', async (t) => {
      const id = await store.transaction((tx) => tx.insertAttestation(newAttestation(machine.id, machine.hostname, 'events')));
      const bios = biosEvents(machine.id, id, machine.hostname, 40);
      const ima = imaEvents(machine.id, id, machine.hostname, 0, 30, { template: 'ima-sig', badsig: true });
      ima[5]!.filehash = null;
      ima[6]!.imaEntry = hex('ima-buf', 4096);
      await store.transaction(async (tx) => {
        await tx.insertBiosEvents(bios);
        await tx.insertImaEvents(ima);
        await tx.insertImaEvents([]);
      });
      const log = await queries.biosLog(id);
      t.equal(log.attestationId, id);
      t.same(log.events.map(({ id: _id, ...e }) => e), bios, 'firmware events read back exactly (a 25 KB event included)');
      const page = await queries.imaLog({ machineId: machine.id, boottime: '2030-01-01 00:00:00', limit: 100 });
      t.same(page.items.map(({ id: _id, ...e }) => e), ima, 'IMA events read back exactly (an 8 KB event included)');
    });

    t.test('bad values are typed errors, not crashes', async (t) => {
      const errs = await Promise.all([
        store.transaction((tx) => tx.updateMachine(machine.id, { boottime: '2030-02-30 00:00:00' })).catch((e) => e),
        store.transaction((tx) => tx.updateMachine(machine.id, { boottime: "1'; DROP TABLE machines; --" })).catch((e) => e),
        store.transaction((tx) => tx.updateMachine(machine.id, { whitelist: { sha256: [], sha1: [] } })).catch((e) => e),
        store.transaction((tx) => tx.updateMachine(machine.id, { enrolled: new Date(NaN) })).catch((e) => e),
        store.transaction((tx) => tx.insertMachine({ ...newMachine('null.example'), ekcertificatepem: null as unknown as string })).catch((e) => e),
        store.transaction((tx) => tx.insertMachine(newMachine('y'.repeat(256)))).catch((e) => e),
        store.transaction((tx) => tx.updateMachine(machine.id, { ekcertificatepem: 'p'.repeat(65_536) })).catch((e) => e),
      ]);
      for (const err of errs) {
        t.type(err, StoreError);
        t.equal(err.code, 0x80000041, err.message);
      }
      t.equal((await store.getMachine('alpha.example'))?.boottime, null, 'nothing was written');
      t.equal(await store.getMachine('null.example'), undefined);
      t.equal(await store.getMachine('y'.repeat(256)), undefined, 'over-long values fail alike in both dialects');
    });

    t.test('a batch checks every row\'s boot time and timestamp, not only the first', async (t) => {
      const aid = await store.transaction((tx) => tx.insertAttestation(newAttestation(machine.id, machine.hostname, 'batch-check')));
      const rows = imaEvents(machine.id, aid, machine.hostname, 0, 3);
      const badBoot = [rows[0]!, { ...rows[1]!, boottime: '2030-02-30 00:00:00' }];
      const when = new Date(rows[0]!.timestamp);
      const badTime = [{ ...rows[0]!, timestamp: when }, { ...rows[1]!, timestamp: new Date(NaN) }];
      for (const batch of [badBoot, badTime]) {
        const err = await store.transaction((tx) => tx.insertImaEvents(batch)).catch((e) => e);
        t.type(err, StoreError);
        t.equal(err.code, 0x80000041, err.message);
      }
      // The same Date object, changed between rows, is encoded with its new time.
      const moving = new Date(rows[0]!.timestamp);
      const first = { ...rows[0]!, timestamp: moving };
      await store.transaction(async (tx) => {
        await tx.insertImaEvents([first]);
        moving.setTime(moving.getTime() + 60_000);
        await tx.insertImaEvents([{ ...rows[1]!, timestamp: moving }]);
      });
      const stored = await store.driver.all('SELECT timestamp FROM imalog WHERE attestation_id = ? ORDER BY entrynum', [aid]);
      t.same(stored.map((r) => parseTime(r.timestamp).getTime()), [rows[0]!.timestamp.getTime(), rows[0]!.timestamp.getTime() + 60_000]);
    });

    t.test('batches cut by row count and by size keep every row and its order', async (t) => {
      const aid = await store.transaction((tx) => tx.insertAttestation(newAttestation(machine.id, machine.hostname, 'batch-cuts')));
      // The first 2,500 rows fill full batches and start a partial one; from there a 1 MiB entry every
      // 250 rows makes a batch too large before it is full, so it is cut by size.
      const rows = imaEvents(machine.id, aid, machine.hostname, 0, 4500).map((r, i) =>
        i >= 2500 && i % 250 === 249 ? { ...r, imaEntry: hex(`large ${i}`, 64).repeat(8192) } : r);
      await store.transaction((tx) => tx.insertImaEvents(rows));
      const stored = await store.driver.all('SELECT entrynum, ima_entry FROM imalog WHERE attestation_id = ? ORDER BY id', [aid]);
      t.equal(stored.length, rows.length);
      t.ok(stored.every((r, i) => Number(r.entrynum) === i && r.ima_entry === rows[i]!.imaEntry), 'rows stored whole, in id order');
    });

    t.test('refused evidence: kept apart from the accepted chain, pruned to the newest reports', async (t) => {
      const host = 'refusing.example';
      const mid = await store.transaction((tx) => tx.insertMachine(newMachine(host)));
      const count = async (table: string, aid: number) =>
        Number((await store.driver.all(`SELECT COUNT(*) AS n FROM ${table} WHERE attestation_id = ?`, [aid]))[0]!.n);
      const accepted = await store.transaction(async (tx) => {
        const aid = await tx.insertAttestation(newAttestation(mid, host, 'ok'));
        await tx.updateAttestation(aid, { quoted: at('2030-01-02T03:04:06Z'), quoteverified: true, logverified: true });
        await tx.insertBiosEvents(biosEvents(mid, aid, host, 8));
        await tx.insertImaEvents(imaEvents(mid, aid, host, 0, 4));
        return aid;
      });
      const refused: number[] = [];
      for (let i = 0; i < 3; i++) {
        refused.push(await store.transaction(async (tx) => {
          const aid = await tx.insertAttestation(newAttestation(mid, host, `refused ${i}`));
          await tx.updateAttestation(aid, { quoted: at('2030-01-02T03:04:07Z'), quoteverified: true, errorCode: '90000020', errorMessage: 'x' });
          await tx.insertBiosEvents(biosEvents(mid, aid, host, 8).map((e) => ({ ...e, refused: true, pcrsha256: hex(`edited ${i} ${e.entrynum}`) })));
          await tx.insertImaEvents(imaEvents(mid, aid, host, 4, 3, { refused: true }));
          await tx.pruneRefusedEvidence(mid, 2);
          return aid;
        }));
      }
      t.same(await Promise.all(refused.map((a) => count('imalog', a))), [0, 3, 3], 'only the newest two refused reports keep their IMA events');
      t.same(await Promise.all(refused.map((a) => count('bioslog', a))), [0, 8, 8], 'and their firmware events');
      t.equal(await count('imalog', accepted), 4, 'accepted events are never pruned');
      t.ok(await store.getAttestation(refused[0]!), 'the pruned report itself stays');
      const boot = await queries.imaLog({ machineId: mid, boottime: '2030-01-01 00:00:00' });
      t.same(boot.items.map((e) => e.attestationId), [accepted, accepted, accepted, accepted], 'a boot\'s IMA log is the accepted chain');
      const own = await queries.imaLog({ machineId: mid, boottime: null, attestationId: refused[2]! });
      t.same(own.items.map((e) => [e.entrynum, e.refused]), [[4, true], [5, true], [6, true]], 'a refused report\'s own events');
      t.equal((await queries.biosLog(refused[2]!)).attestationId, refused[2], 'a refused report shows its own firmware log');
      t.same(await store.transaction((tx) => tx.acceptedFirmwareEvents(mid, refused[2]! + 1, [3])), biosEvents(mid, accepted, host, 8)
        .filter((e) => e.pcrindex === 3).map((e) => ({ entrynum: e.entrynum, pcrindex: 3, eventtype: e.eventtype, pcrsha1: e.pcrsha1, pcrsha256: e.pcrsha256 })),
      'the last accepted firmware log, never a refused one');
    });

    t.test('pending nonces: a new one retires the oldest beyond the cap', async (t) => {
      const host = 'nonces.example';
      const mid = await store.transaction((tx) => tx.insertMachine(newMachine(host)));
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(await store.insertAttestation(newAttestation(mid, host, `pending ${i}`)));
        await store.retirePendingNonces(mid, 3);
      }
      const left = await Promise.all(ids.map(async (id) => (await store.getAttestation(id)) !== undefined));
      t.same(left, [false, false, true, true, true]);
    });

    t.test('security events are capped to the newest', async (t) => {
      for (let i = 0; i < 5; i++) {
        await store.transaction((tx) => tx.insertSecurityEvent({ timestamp: at('2030-01-02T03:04:06Z'), kind: 'forged_quote', hostname: 'x', detail: `event ${i}` }, 3));
      }
      const rows = await store.driver.all('SELECT detail FROM security_events ORDER BY id');
      t.same(rows.map((r) => r.detail), ['event 2', 'event 3', 'event 4']);
    });

    t.test('deleteMachine removes its attestations and events', async (t) => {
      const victim = await store.transaction((tx) => tx.insertMachine(newMachine('victim.example')));
      const aid = await store.transaction(async (tx) => {
        const aid = await tx.insertAttestation(newAttestation(victim, 'victim.example', 'victim'));
        await tx.insertBiosEvents(biosEvents(victim, aid, 'victim.example', 3));
        await tx.insertImaEvents(imaEvents(victim, aid, 'victim.example', 0, 3));
        return aid;
      });
      await store.transaction((tx) => tx.deleteMachine(victim));
      t.equal(await store.getMachine('victim.example'), undefined);
      t.equal(await store.getAttestation(aid), undefined);
      t.same((await queries.biosLog(aid)).events, []);
      t.same((await queries.imaLog({ machineId: victim, boottime: '2030-01-01 00:00:00' })).items, []);
      t.ok(await store.getMachine('alpha.example'), 'other machines stay');
    });
  });
}
