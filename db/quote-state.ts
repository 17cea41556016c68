/**
 * What a quote's transaction reads, in one statement: the machine (locked),
 * the attestation its nonce was issued for (locked), its newest report
 * before that, and the policies assigned to it. One round trip instead of
 * four is most of what an incremental attestation costs the database.
 */
import { ident, type SqlConnection, type SqlDriver, type SqlRow } from './driver.js';
import { issuedNonceCodec, lastReportCodec, machineWithoutCertsCodec } from './rows.js';
import { POLICY_KINDS, type PolicyRef } from './policy-store.js';
import type { IssuedNonce, LastReport, MachineWithoutCerts } from './store.js';
import { parseTime } from './driver.js';

export interface QuoteState {
  machine: MachineWithoutCerts;
  /** The attestation issued with the quote's nonce to this machine, if any. */
  nonce: IssuedNonce | undefined;
  /** The machine's newest report (quote received) before that attestation. */
  last: LastReport | undefined;
  policies: PolicyRef[];
}

const NONCE = 'n_';
const LAST = 'l_';

/**
 * Policies come from scalar subqueries, which a locking read does not lock
 * (unlike a join): every machine shares its policies' rows, and locking them
 * would serialize every quote of the fleet.
 */
function policyColumns(): string {
  return POLICY_KINDS.flatMap((kind) =>
    (['id', 'name', 'updated_at'] as const).map(
      (col) =>
        `(SELECT p.${ident(col)} FROM policy_assignments a JOIN policies p ON p.id = a.policy_id WHERE a.hostname = m.hostname AND a.kind = '${kind}') AS ${ident(`p_${kind}_${col}`)}`,
    ),
  ).join(',\n  ');
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
  return `SELECT ${machineWithoutCertsCodec.select('m')},
  ${issuedNonceCodec.select('n', NONCE)},
  ${lastReportCodec.select('l', LAST)},
  ${policyColumns()}
FROM machines m
LEFT JOIN attestlog n ON n.nonce = ? AND n.machine_id = m.id
LEFT JOIN attestlog l ON l.id = (
  SELECT x.id FROM attestlog x ${byMachine}
  WHERE x.machine_id = m.id AND x.id < COALESCE(n.id, ${Number.MAX_SAFE_INTEGER}) AND x.quoted IS NOT NULL
  ORDER BY x.id DESC LIMIT 1)
WHERE m.hostname = ?${forUpdate}`;
}

const SQL = new Map<string, string>();

function policies(row: SqlRow): PolicyRef[] {
  const out: PolicyRef[] = [];
  for (const kind of POLICY_KINDS) {
    const id = row[`p_${kind}_id`];
    if (id === null || id === undefined) continue;
    out.push({ id: Number(id), kind, name: String(row[`p_${kind}_name`]), updatedAt: parseTime(row[`p_${kind}_updated_at`]) });
  }
  return out;
}

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
    machine: machineWithoutCertsCodec.decode(row),
    nonce: row[`${NONCE}id`] === null ? undefined : issuedNonceCodec.decode(row, NONCE),
    last: row[`${LAST}id`] === null ? undefined : lastReportCodec.decode(row, LAST),
    policies: policies(row),
  };
}
