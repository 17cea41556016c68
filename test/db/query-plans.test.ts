/**
 * The web's heaviest reads are answered by the indexes made for them, on
 * both dialects: a machine's per-boot IMA counts (imaBoots) read
 * imalog_boot_entry_idx alone, never a row, and the newest pcrinvalid /
 * pcrschanged reports come from their (flag, id) indexes, and a machine's
 * pending nonces from (machine_id, quoted, id). The statements are
 * the ones the queries issue, captured from the driver and explained.
 */
import t from 'tap';
import { forensicsQueries } from '../../db/forensics-sql.js';
import { SqlStore } from '../../db/sql-store.js';
import { BACKENDS, imaEvents, newAttestation, newMachine } from '../helpers/store-fixtures.js';
import { queryPlans } from '../helpers/query-plans.js';
import { readQuoteState } from '../../db/quote-state.js';

const BOOT = '2030-01-01 00:00:00';

for (const backend of BACKENDS) {
  t.test(backend.name, async (t) => {
    const store = await backend.open(t);
    const driver = (store as SqlStore).driver;
    const machineId = await store.transaction(async (tx) => {
      const id = await tx.insertMachine(newMachine('plans.example'));
      for (let a = 0; a < 20; a++) {
        const aid = await tx.insertAttestation(newAttestation(id, 'plans.example', `plans ${a}`, { boottime: BOOT }));
        await tx.updateAttestation(aid, { quoted: new Date(), quoteverified: true, logverified: true, pcrinvalid: a === 7, pcrschanged: a === 7 });
        await tx.insertImaEvents(imaEvents(id, aid, 'plans.example', a * 250, 250, { boottime: BOOT, badsig: a === 3 }));
      }
      return id;
    });

    const plans = (run: () => Promise<unknown>): Promise<string[]> => queryPlans(driver, run);
    const q = forensicsQueries(store.driver);

    t.test('imaBoots reads the covering index only', async (t) => {
      const [plan] = await plans(() => q.imaBoots(machineId));
      if (store.dialect === 'mysql') t.match(plan, /imalog: key=imalog_boot_entry_idx .*Using index/);
      else t.match(plan, /USING COVERING INDEX imalog_boot_entry_idx/);
      t.same((await q.imaBoots(machineId)).map((b) => [b.events, b.problems, b.firstEntry, b.lastEntry]), [[5000, 5000, 0, 4999]]);
    });

    t.test('a status filter pages the boot in entry order through the same index', async (t) => {
      const [plan] = await plans(() => q.imaLog({ machineId, boottime: BOOT, status: 'badsig' }));
      t.match(plan, /imalog_boot_entry_idx/);
      t.notMatch(plan, /filesort|TEMP B-TREE/, 'no sort');
      t.same((await q.imaLog({ machineId, boottime: BOOT, status: 'badsig', limit: 300 })).items.map((e) => e.entrynum), [...Array(250).keys()].map((i) => 750 + i));
    });

    t.test('retiring pending nonces reads only the machine\'s pending rows', async (t) => {
      const [plan] = await plans(() => store.retirePendingNonces(machineId, 64));
      t.match(plan, /attestlog_pending_idx/);
      t.notMatch(plan, /filesort|TEMP B-TREE/, 'no sort');
    });

    t.test('a nonce counts the machine\'s pending nonces from their index', async (t) => {
      const [plan] = await plans(() => store.enrolledMachine('plans.example'));
      t.match(plan, /attestlog_pending_idx/);
      t.notMatch(plan, /ALL|SCAN a\b/, 'no scan');
    });

    t.test('a quote\'s one read finds the nonce by its index and the newest report by (machine_id, id)', async (t) => {
      const [plan] = await plans(() => readQuoteState(driver, driver, 'plans.example', 'plans 19'));
      t.match(plan, /attestlog_nonce_uq/);
      t.match(plan, /x: key=attestlog_machine_idx|SEARCH x USING (COVERING )?INDEX attestlog_machine_idx/);
      t.notMatch(plan, /filesort|TEMP B-TREE/, 'no sort');
    });

    t.test('the newest pcrinvalid and pcrschanged reports come from their indexes', async (t) => {
      for (const flag of ['pcrinvalid', 'pcrschanged'] as const) {
        const [plan] = await plans(() => q.reports({ [flag]: true }));
        t.match(plan, new RegExp(`attestlog_${flag}_idx`), flag);
      }
    });
  });
}
