/**
 * A quote's one read (db/quote-state.ts) against SQLite and MariaDB: it
 * answers what the separate reads answer — the machine, the nonce's
 * attestation, the newest report before it (skipping pending nonces) and the
 * assigned policies — with PCR banks folded and unfolded exactly, NULL
 * values included, and nothing for an unknown host or a nonce of another.
 */
import t from 'tap';
import { SqlStore } from '../../db/sql-store.js';
import { PolicySql, assignedPolicies } from '../../db/policy-store.js';
import { BACKENDS, hex, newAttestation, newMachine, pcrBanks } from '../helpers/store-fixtures.js';

for (const backend of BACKENDS) {
  t.test(backend.name, async (t) => {
    const store = (await backend.open(t)) as SqlStore;
    const whitelist = pcrBanks('white');
    whitelist.sha1[5] = null;
    whitelist.sha256[23] = null;
    const quoted = pcrBanks('quoted');
    quoted.sha256[0] = null;
    const { machineId, other, reportId, nonceId } = await store.transaction(async (tx) => {
      const machineId = await tx.insertMachine(newMachine('state.example', { enrolled: new Date(), imaevents: 7, imapcr: 'aa'.repeat(32), whitelist }));
      const other = await tx.insertMachine(newMachine('other.example'));
      const reportId = await tx.insertAttestation(newAttestation(machineId, 'state.example', 'report'));
      await tx.updateAttestation(reportId, { quoted: new Date(), quoteverified: true, logverified: true, pcrs: quoted, errorCode: null });
      await tx.insertAttestation(newAttestation(machineId, 'state.example', 'pending, skipped'));
      const nonceId = await tx.insertAttestation(newAttestation(machineId, 'state.example', 'asked', { newBoot: false, imaentry: 7, biosentry: -1 }));
      await tx.insertAttestation(newAttestation(machineId, 'state.example', 'newer'));
      return { machineId, other, reportId, nonceId };
    });
    const policies = new PolicySql(store.driver);
    await policies.save('golden', 'pcr', '{}', new Date());
    await policies.save('runtime', 'ima', '{}', new Date());
    await policies.assign('golden', { hostnames: ['state.example'] }, new Date());
    await policies.assign('runtime', { hostnames: ['state.example'] }, new Date());

    const read = (host: string, nonceSeed: string) => store.transaction((tx) => tx.quoteState(host, hex(`nonce ${nonceSeed}`)));

    t.test('the machine, the nonce, the last report and the policies, as the separate reads give them', async (t) => {
      const s = (await read('state.example', 'asked'))!;
      const [m, a, last] = await store.transaction(async (tx) => [
        await tx.machineForUpdate('state.example'),
        await tx.attestationByNonceForUpdate(machineId, hex('nonce asked')),
        await tx.lastReport(machineId, nonceId),
      ] as const);
      const assigned = await assignedPolicies(store.driver, 'state.example');
      for (const key of Object.keys(s.machine) as (keyof typeof s.machine)[]) t.same(s.machine[key], m![key], `machine.${key}`);
      t.same(s.machine.whitelist, whitelist, 'the white list, NULLs in place');
      t.same(s.nonce, a, 'the nonce\'s attestation');
      t.equal(s.nonce!.id, nonceId);
      t.same(s.last, last, 'the newest report before it');
      t.equal(s.last!.id, reportId, 'pending nonces skipped');
      t.same(s.last!.pcrs, quoted, 'its PCRs, NULLs in place');
      t.same(s.policies, assigned);
      t.same(s.policies.map((p) => [p.kind, p.name]), [['ima', 'runtime'], ['pcr', 'golden']], 'both kinds');
    });

    t.test('an unknown host reads nothing; another host\'s nonce is not found', async (t) => {
      t.equal(await read('nobody.example', 'asked'), undefined);
      const s = (await read('other.example', 'asked'))!;
      t.equal(s.machine.id, other);
      t.equal(s.nonce, undefined, 'the nonce belongs to another machine');
      t.equal(s.last, undefined, 'no report yet');
      t.equal(s.machine.whitelist, null, 'no white list yet');
    });
  });
}
