/**
 * Stored reference-value policies (table policies) and which hostname each
 * judges (table policy_assignments). A policy is an IMA runtime policy (kind
 * ima, its body the Keylime-format JSON) or measured-boot reference values
 * (kind pcr); a hostname has at most one policy of each kind. Assignments
 * name hostnames, so a machine may be assigned before it enrolls; a policy
 * marked default is assigned to each machine when it first enrolls.
 */
import { formatTime, parseTime, type SqlConnection, type SqlDriver } from './driver.js';
import { tableCodec } from './rows.js';
import { policies } from './schema/mysql.js';

export type PolicyKind = 'ima' | 'pcr';
export const POLICY_KINDS: readonly PolicyKind[] = ['ima', 'pcr'];

export interface PolicyRow {
  id: number;
  name: string;
  kind: PolicyKind;
  /** JSON: a Keylime runtime policy (ima) or reference PCR values (pcr). */
  body: string;
  isDefault: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A policy without its body, with how many hostnames it is assigned to. */
export type PolicySummary = Omit<PolicyRow, 'body'> & { assigned: number };
/** What a report's transaction reads of a machine's policy: enough to find its compiled form in a cache. */
export type PolicyRef = Pick<PolicyRow, 'id' | 'name' | 'kind' | 'updatedAt'>;

export interface PolicyAssignmentRow {
  hostname: string;
  kind: PolicyKind;
  policyName: string;
  createdAt: Date;
}

export const policyCodec = tableCodec<PolicyRow>()(policies, {});
const summaryCodec = policyCodec.omit(['body']);
const refCodec = policyCodec.pick(['id', 'name', 'kind', 'updatedAt']);

/** A policy command named something that is not there, or would mix kinds. */
export class PolicyStoreError extends Error {
  override name = 'PolicyStoreError';
}

/** The policies assigned to a hostname, one per kind at most. */
export async function assignedPolicies(conn: SqlConnection, hostname: string): Promise<PolicyRef[]> {
  const rows = await conn.all(
    `SELECT ${refCodec.select('p')} FROM policy_assignments a JOIN policies p ON p.id = a.policy_id WHERE a.hostname = ? ORDER BY p.kind`,
    [hostname],
  );
  return rows.map((r) => refCodec.decode(r));
}

/** A policy's body by id; undefined when it was removed meanwhile. */
export async function policyBody(conn: SqlConnection, id: number): Promise<string | undefined> {
  const rows = await conn.all('SELECT body FROM policies WHERE id = ?', [id]);
  return rows.length ? String(rows[0]!.body) : undefined;
}

/** Assigns the default policies to a newly enrolled hostname, leaving any kind it already has. */
export async function assignDefaultPolicies(conn: SqlConnection, driver: SqlDriver, hostname: string, now: Date): Promise<void> {
  await conn.run(
    `${driver.insertIgnore} INTO policy_assignments (hostname, kind, policy_id, created_at) SELECT ?, kind, id, ? FROM policies WHERE is_default = 1`,
    [hostname, formatTime(now)],
  );
}

/** The policy commands of the CLI and the admin pages, each one transaction. */
export class PolicySql {
  constructor(private readonly driver: SqlDriver) {}

  async list(): Promise<PolicySummary[]> {
    const rows = await this.driver.all(
      `SELECT ${summaryCodec.select('p')}, (SELECT COUNT(*) FROM policy_assignments a WHERE a.policy_id = p.id) AS assigned FROM policies p ORDER BY p.name`,
    );
    return rows.map((r) => ({ ...summaryCodec.decode(r), assigned: Number(r.assigned) }));
  }

  async byName(name: string): Promise<PolicyRow | undefined> {
    const rows = await this.driver.all(`SELECT ${policyCodec.select()} FROM policies WHERE name = ?`, [name]);
    return rows.length ? policyCodec.decode(rows[0]!) : undefined;
  }

  /** Creates the policy, or replaces the body of the one of that name (same kind) keeping its assignments. */
  async save(name: string, kind: PolicyKind, body: string, now: Date): Promise<'created' | 'replaced'> {
    return this.driver.transaction(async (conn) => {
      const rows = await conn.all(`SELECT id, kind FROM policies WHERE name = ?${this.driver.forUpdate}`, [name]);
      if (rows.length) {
        if (rows[0]!.kind !== kind) throw new PolicyStoreError(`policy ${name} holds ${String(rows[0]!.kind)} reference values, not ${kind}`);
        const { columns, params } = policyCodec.encode({ body, updatedAt: now });
        await conn.run(`UPDATE policies SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`, [...params, Number(rows[0]!.id)]);
        return 'replaced';
      }
      const { columns, params } = policyCodec.encode({ name, kind, body, isDefault: false, createdAt: now, updatedAt: now });
      await conn.run(`INSERT INTO policies (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, params);
      return 'created';
    });
  }

  /** Removes a policy and its assignments; false when there is none of that name. */
  async remove(name: string): Promise<boolean> {
    return this.driver.transaction(async (conn) => {
      const rows = await conn.all(`SELECT id FROM policies WHERE name = ?${this.driver.forUpdate}`, [name]);
      if (!rows.length) return false;
      const id = Number(rows[0]!.id);
      await conn.run('DELETE FROM policy_assignments WHERE policy_id = ?', [id]);
      await conn.run('DELETE FROM policies WHERE id = ?', [id]);
      return true;
    });
  }

  /**
   * Assigns a policy to hostnames (replacing their policy of its kind), to
   * every enrolled machine (`all`), and/or makes it the default for machines
   * that enroll later. Returns the hostnames assigned.
   */
  async assign(name: string, target: { hostnames: readonly string[]; all?: boolean; isDefault?: boolean }, now: Date): Promise<string[]> {
    return this.driver.transaction(async (conn) => {
      const p = await this.lockedPolicy(conn, name);
      const hostnames = new Set(target.hostnames);
      if (target.all) {
        for (const r of await conn.all('SELECT hostname FROM machines WHERE enrolled IS NOT NULL ORDER BY hostname')) hostnames.add(String(r.hostname));
      }
      for (const hostname of hostnames) {
        await conn.run('DELETE FROM policy_assignments WHERE hostname = ? AND kind = ?', [hostname, p.kind]);
        await conn.run('INSERT INTO policy_assignments (hostname, kind, policy_id, created_at) VALUES (?, ?, ?, ?)', [hostname, p.kind, p.id, formatTime(now)]);
      }
      if (target.isDefault) {
        await conn.run('UPDATE policies SET is_default = 0 WHERE kind = ? AND id <> ?', [p.kind, p.id]);
        await conn.run('UPDATE policies SET is_default = 1 WHERE id = ?', [p.id]);
      }
      return [...hostnames];
    });
  }

  /** Takes hostnames off a policy; returns how many assignments went. */
  async unassign(name: string, hostnames: readonly string[]): Promise<number> {
    return this.driver.transaction(async (conn) => {
      const p = await this.lockedPolicy(conn, name);
      let n = 0;
      for (const hostname of hostnames) n += (await conn.run('DELETE FROM policy_assignments WHERE hostname = ? AND policy_id = ?', [hostname, p.id])).changes;
      return n;
    });
  }

  async assignments(): Promise<PolicyAssignmentRow[]> {
    const rows = await this.driver.all(
      `SELECT a.hostname, a.kind, p.name AS policy_name, a.created_at FROM policy_assignments a JOIN policies p ON p.id = a.policy_id ORDER BY a.hostname, a.kind`,
    );
    return rows.map((r) => ({
      hostname: String(r.hostname),
      kind: r.kind as PolicyKind,
      policyName: String(r.policy_name),
      createdAt: parseTime(r.created_at),
    }));
  }

  private async lockedPolicy(conn: SqlConnection, name: string): Promise<{ id: number; kind: PolicyKind }> {
    const rows = await conn.all(`SELECT id, kind FROM policies WHERE name = ?${this.driver.forUpdate}`, [name]);
    if (!rows.length) throw new PolicyStoreError(`no policy named ${name}`);
    return { id: Number(rows[0]!.id), kind: rows[0]!.kind as PolicyKind };
  }
}

