/**
 * Stored hostnames against the protocol's hostname rule (shared/protocol/
 * hostname.ts). Rows written before the rule may hold a name the protocol no
 * longer sends: one differing only by case or a trailing dot is renamed to
 * its normal form when no other row claims that form; every other case is
 * reported and left as it is, for the operator to decide — two rows whose
 * names collide after normalization are never merged, and a name that is no
 * DNS host name stays readable in the web UI as stored.
 */
import type { SqlConnection, SqlDriver } from './driver.js';
import { DuplicateKeyError } from './store.js';
import { HostnameError, normalizeHostname, printableName } from '../shared/protocol/hostname.js';

export interface HostnameReport {
  /** Renamed to the normal form: same machine, spelled as clients now send it. */
  renamed: { id: number; from: string; to: string }[];
  /** Rows whose names share one normal form; none of them was changed. */
  collisions: { normal: string; machines: { id: number; hostname: string }[] }[];
  /** Names that are no DNS host name: clients can no longer reach these rows. */
  invalid: { id: number; hostname: string; reason: string }[];
}

/** Tables that carry a copy of the machine's hostname beside machine_id. */
const HOSTNAME_COPIES = ['attestlog', 'bioslog', 'imalog'] as const;

/** Audits every machine row; with `fix`, renames the rows that only need their normal form. */
export async function auditHostnames(driver: SqlDriver, fix: boolean): Promise<HostnameReport> {
  const rows = (await driver.all('SELECT id, hostname FROM machines ORDER BY id')).map((r) => ({ id: Number(r.id), hostname: String(r.hostname) }));
  const report: HostnameReport = { renamed: [], collisions: [], invalid: [] };
  const byNormal = new Map<string, { id: number; hostname: string }[]>();
  for (const row of rows) {
    let normal: string;
    try {
      normal = normalizeHostname(row.hostname);
    } catch (e) {
      if (!(e instanceof HostnameError)) throw e;
      report.invalid.push({ ...row, reason: e.message });
      continue;
    }
    byNormal.set(normal, [...(byNormal.get(normal) ?? []), row]);
  }
  for (const [normal, machines] of byNormal) {
    if (machines.length > 1) {
      report.collisions.push({ normal, machines });
      continue;
    }
    const [row] = machines as [{ id: number; hostname: string }];
    if (row.hostname === normal) continue;
    if (!fix) {
      report.renamed.push({ id: row.id, from: row.hostname, to: normal });
      continue;
    }
    try {
      if (await driver.transaction((conn) => rename(conn, row.id, row.hostname, normal))) report.renamed.push({ id: row.id, from: row.hostname, to: normal });
    } catch (e) {
      // A client enrolled the normal form since the read: two machines now, the operator's to decide.
      if (!(e instanceof DuplicateKeyError)) throw e;
      report.collisions.push({ normal, machines: [row, ...(await driver.all('SELECT id, hostname FROM machines WHERE hostname = ?', [normal])).map((r) => ({ id: Number(r.id), hostname: String(r.hostname) }))] });
    }
  }
  return report;
}

/** Renames one machine and its rows' copies; false when another server renamed it first. */
async function rename(conn: SqlConnection, id: number, from: string, to: string): Promise<boolean> {
  const done = await conn.run('UPDATE machines SET hostname = ? WHERE id = ? AND hostname = ?', [to, id, from]);
  if (done.changes === 0) return false;
  for (const table of HOSTNAME_COPIES) await conn.run(`UPDATE ${table} SET hostname = ? WHERE machine_id = ?`, [to, id]);
  // Policy assignments name the machine by hostname alone.
  await conn.run('UPDATE policy_assignments SET hostname = ? WHERE hostname = ?', [to, from]);
  return true;
}

/** The report as lines for an operator, every name quoted and escaped so no stored character reaches a terminal raw. */
export function describeHostnameReport(report: HostnameReport): string[] {
  const q = printableName;
  return [
    ...report.renamed.map((r) => `renamed machine ${r.id} from ${q(r.from)} to ${q(r.to)}`),
    ...report.collisions.map((c) => `collision: machines ${c.machines.map((m) => `${m.id} ${q(m.hostname)}`).join(', ')} are all ${q(c.normal)}; none changed`),
    ...report.invalid.map((r) => `invalid: machine ${r.id} ${q(r.hostname)}: ${r.reason}; clients cannot reach it`),
  ];
}
