/**
 * What a quote's transaction reads, in one statement: the machine (locked),
 * the attestation its nonce was issued for (locked), its newest report
 * before that, and the policies assigned to it. One round trip instead of
 * four is most of what an incremental attestation costs the database.
 *
 * The row is kept narrow, since a result's column definitions travel and are
 * parsed with every execution: only the fields a quote uses, and each set
 * of 48 PCR values as one comma-separated column.
 */
import { ident, type SqlConnection, type SqlDriver, type SqlRow } from './driver.js';
import { issuedNonceCodec, lastReportCodec, machineCodec } from './rows.js';
import { POLICY_KINDS, type PolicyRef } from './policy-store.js';
import { PCR_COLUMNS } from './schema/columns.js';
import type { IssuedNonce, LastReport, MachineRow } from './store.js';
import { parseTime } from './driver.js';
import { PCR_BANK_NAMES, PCR_COUNT, type PcrBanks } from '../shared/tpm/pcr-banks.js';

/** What a quote reads and writes of its machine. */
export type QuoteMachine = Pick<
  MachineRow,
  'id' | 'hostname' | 'enrolled' | 'attestpub' | 'boottime' | 'imaevents' | 'imapcr' | 'imapcrSha1' | 'whitelist' | 'resetCount' | 'restartCount' | 'policyViolations'
>;

export interface QuoteState {
  machine: QuoteMachine;
  /** The attestation issued with the quote's nonce to this machine, if any. */
  nonce: IssuedNonce | undefined;
  /** The machine's newest report (quote received) before that attestation. */
  last: LastReport | undefined;
  policies: PolicyRef[];
}

const machineFields = machineCodec.pick(['id', 'hostname', 'enrolled', 'attestpub', 'boottime', 'imaevents', 'imapcr', 'imapcrSha1', 'resetCount', 'restartCount', 'policyViolations']);
const lastFields = lastReportCodec.omit(['pcrs']);
const NONCE = 'n_';
const LAST = 'l_';

/** The 48 PCR columns of `alias` as one text column, '' for NULL, in PCR_COLUMNS order. */
function pcrText(dialect: SqlDriver['dialect'], alias: string): string {
  const values = PCR_COLUMNS.map((c) => `COALESCE(${ident(alias)}.${ident(c)}, '')`);
  return dialect === 'mysql' ? `CONCAT_WS(',', ${values.join(', ')})` : values.join(` || ',' || `);
}

function decodePcrText(text: unknown): PcrBanks | null {
  if (typeof text !== 'string') return null;
  const values = text.split(',');
  if (values.every((v) => v === '')) return null;
  const bank = (i: number) => values.slice(i * PCR_COUNT, (i + 1) * PCR_COUNT).map((v) => v || null);
  return Object.fromEntries(PCR_BANK_NAMES.map((name, i) => [name, bank(i)])) as unknown as PcrBanks;
}

/**
 * Each kind's policy as "id/updated_at/name" from one scalar subquery, which
 * a locking read does not lock (unlike a join): every machine shares its
 * policies' rows, and locking them would serialize every quote of the fleet.
 */
function policyColumns(dialect: SqlDriver['dialect']): string {
  const ref = dialect === 'mysql' ? "CONCAT(p.id, '/', p.updated_at, '/', p.name)" : "p.id || '/' || p.updated_at || '/' || p.name";
  return POLICY_KINDS.map(
    (kind) => `(SELECT ${ref} FROM policy_assignments a JOIN policies p ON p.id = a.policy_id WHERE a.hostname = m.hostname AND a.kind = '${kind}') AS ${ident(`p_${kind}`)}`,
  ).join(',\n  ');
}

function policies(row: SqlRow): PolicyRef[] {
  const out: PolicyRef[] = [];
  for (const kind of POLICY_KINDS) {
    const ref = row[`p_${kind}`];
    if (typeof ref !== 'string') continue;
    // The name comes last: it is the one part that may hold a '/'.
    const [id, updatedAt] = ref.split('/', 2) as [string, string];
    out.push({ id: Number(id), kind, updatedAt: parseTime(updatedAt), name: ref.slice(id.length + updatedAt.length + 2) });
  }
  return out;
}

/**
 * Locks the machine row, the serialization point of its attestations, and
 * the nonce's row, which an issued nonce beyond the cap may retire
 * concurrently. The newest report before the nonce's attestation is read by
 * (machine_id, id) backwards, named to the planner: left to itself it may
 * walk the primary key back through every machine's reports.
 */
function quoteStateSql({ dialect, forUpdate }: Pick<SqlDriver, 'dialect' | 'forUpdate'>): string {
  const byMachine = dialect === 'mysql' ? 'FORCE INDEX (attestlog_machine_idx)' : 'INDEXED BY attestlog_machine_idx';
  return `SELECT ${machineFields.select('m')}, ${pcrText(dialect, 'm')} AS m_pcrs,
  ${issuedNonceCodec.select('n', NONCE)},
  ${lastFields.select('l', LAST)}, ${pcrText(dialect, 'l')} AS l_pcrs,
  ${policyColumns(dialect)}
FROM machines m
LEFT JOIN attestlog n ON n.nonce = ? AND n.machine_id = m.id
LEFT JOIN attestlog l ON l.id = (
  SELECT x.id FROM attestlog x ${byMachine}
  WHERE x.machine_id = m.id AND x.id < COALESCE(n.id, ${Number.MAX_SAFE_INTEGER}) AND x.quoted IS NOT NULL
  ORDER BY x.id DESC LIMIT 1)
WHERE m.hostname = ?${forUpdate}`;
}

const SQL = new Map<string, string>();

/** The state a quote for `hostname` answering `nonce` is judged against; undefined when the machine is unknown. */
export async function readQuoteState(
  conn: SqlConnection, driver: Pick<SqlDriver, 'dialect' | 'forUpdate'>, hostname: string, nonce: string,
): Promise<QuoteState | undefined> {
  let sql = SQL.get(driver.dialect);
  if (!sql) SQL.set(driver.dialect, (sql = quoteStateSql(driver)));
  const rows = await conn.all(sql, [nonce, hostname]);
  const row = rows[0];
  if (!row) return undefined;
  return {
    machine: { ...machineFields.decode(row), whitelist: decodePcrText(row.m_pcrs) },
    nonce: row[`${NONCE}id`] === null ? undefined : issuedNonceCodec.decode(row, NONCE),
    last: row[`${LAST}id`] === null ? undefined : { ...lastFields.decode(row, LAST), pcrs: decodePcrText(row.l_pcrs) },
    policies: policies(row),
  };
}
