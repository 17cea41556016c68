/**
 * Row codecs come from the drizzle tables: a row type that drifts from its
 * table fails to compile (the @ts-expect-error lines below fail the build if
 * the check ever stops catching it), a generated column must be left out by
 * name, and the PCR columns fold into one field where they stand.
 */
import t from 'tap';
import { tableCodec } from '../../db/rows.js';
import { tableFields } from '../../db/row-fields.js';
import { PCR_COLUMNS } from '../../db/schema/columns.js';
import { bioslog, machines } from '../../db/schema/mysql.js';
import type { BiosEventRow, MachineRow } from '../../db/store.js';

t.test('a row type that differs from its table does not compile', async (t) => {
  // @ts-expect-error the row lacks a column's field
  tableCodec<Omit<BiosEventRow, 'refused'>>()(bioslog, { omit: ['id'] });
  // @ts-expect-error the row has a field no column holds
  tableCodec<BiosEventRow & { extra: string }>()(bioslog, { omit: ['id'] });
  // @ts-expect-error the row says NOT NULL where the column admits NULL
  tableCodec<Omit<BiosEventRow, 'pcrsha1'> & { pcrsha1: string }>()(bioslog, { omit: ['id'] });
  // @ts-expect-error the PCR field is named differently
  tableCodec<MachineRow>()(machines, { pcrs: 'pcrs', omit: ['enrolledEkFingerprint'] });
  t.pass('checked by tsc');
});

t.test('fields follow the table', async (t) => {
  t.throws(() => tableFields(machines, { pcrs: 'whitelist' }), /enrolled_ek_fingerprint is generated/, 'a generated column is omitted by name');
  t.throws(() => tableFields(machines, {}), /has PCR columns/, 'the PCR field is named');
  const fields = tableFields(machines, { pcrs: 'whitelist', omit: ['enrolledEkFingerprint'] });
  t.same(fields.filter(([, , kind]) => kind === 'pcrs'), [['whitelist', 'pcr', 'pcrs']], 'one field for the 48 PCR columns');
  t.same(fields.find(([key]) => key === 'boottime'), ['boottime', 'boottime', 'boottime'], 'the boot time is validated as client data');
  t.same(fields.find(([key]) => key === 'challengeExpires'), ['challengeExpires', 'challenge_expires', 'time']);
  t.equal(PCR_COLUMNS.length, 48);
});
