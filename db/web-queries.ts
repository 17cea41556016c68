/**
 * The reads behind the web UI beyond ForensicsQueries: a machine by hostname
 * and the boots a machine reported. Same driver, same rules: parameterized
 * SQL in the subset both dialects accept, a fixed number of statements per
 * call.
 *
 * A boot is identified by the boot time the host reported with its nonce
 * request (attestlog.boottime, imalog.boottime), as IBM ACS groups them.
 */
import { parseTime, type SqlDriver } from './driver.js';
import { limitOf, keysetPage, SqlForensics } from './forensics-sql.js';
import { QueryInputError, type ForensicsQueries, type Page, type StoredBiosEvent } from './queries.js';
import { biosEventCodec, securityEventCodec } from './rows.js';
import { refused } from './report-sql.js';
import type { SearchQueries } from './search-queries.js';
import { SqlSearch } from './search-sql.js';
import { SqlStore } from './sql-store.js';
import type { MachineRow, SecurityEventRow } from './store.js';

export interface MachineBoot {
  /** Host-reported "YYYY-MM-DD HH:MM:SS"; null for reports that carried none. */
  boottime: string | null;
  /** Reports (quotes received) in this boot. */
  reports: number;
  /** Of those, refused ones (error_code set). */
  failed: number;
  firstReportId: number;
  lastReportId: number;
  firstQuoted: Date;
  lastQuoted: Date;
  /** The newest report of this boot that carried a firmware log; null when none was stored. */
  biosAttestationId: number | null;
}

/** How many events are stored with a report (accepted or refused). */
export interface ReportEvidence {
  firmwareEvents: number;
  imaEvents: number;
}

export type StoredSecurityEvent = SecurityEventRow & { id: number };

export interface WebQueries extends ForensicsQueries {
  machineByHostname(hostname: string): Promise<MachineRow | undefined>;
  /** The boots a machine has reports for, newest first. */
  machineBoots(machineId: number): Promise<MachineBoot[]>;
  reportEvidence(attestationId: number): Promise<ReportEvidence>;
  /** The firmware events stored with one report, in log order, keyset-paged like imaLog (cursor "entrynum.id"). */
  reportFirmwareEvents(attestationId: number, cursor?: string, limit?: number): Promise<Page<StoredBiosEvent>>;
  /** Security events, newest first, paged by id. */
  securityEvents(cursor?: string, limit?: number): Promise<Page<StoredSecurityEvent>>;
  /** Fleet-wide searches and boot comparisons. */
  readonly search: SearchQueries;
}

class SqlWebQueries extends SqlForensics implements WebQueries {
  private readonly rows: SqlStore;
  readonly search: SearchQueries;

  constructor(private readonly sql: SqlDriver) {
    super(sql);
    this.rows = new SqlStore(sql);
    this.search = new SqlSearch(sql);
  }

  machineByHostname(hostname: string): Promise<MachineRow | undefined> {
    return this.rows.getMachine(hostname);
  }

  async machineBoots(machineId: number): Promise<MachineBoot[]> {
    const rows = await this.sql.all(
      `SELECT a.boottime, COUNT(*) AS reports, SUM(CASE WHEN ${refused('a')} THEN 1 ELSE 0 END) AS failed,
              MIN(a.id) AS first_id, MAX(a.id) AS last_id, MIN(a.quoted) AS first_quoted, MAX(a.quoted) AS last_quoted,
              MAX(b.attestation_id) AS bios_id
       FROM attestlog a
       LEFT JOIN (SELECT DISTINCT attestation_id FROM bioslog WHERE machine_id = ? AND refused = 0) b ON b.attestation_id = a.id
       WHERE a.machine_id = ? AND a.quoted IS NOT NULL
       GROUP BY a.boottime ORDER BY MAX(a.id) DESC`,
      [machineId, machineId],
    );
    return rows.map((r) => ({
      boottime: (r.boottime as string | null) ?? null,
      reports: Number(r.reports),
      failed: Number(r.failed),
      firstReportId: Number(r.first_id),
      lastReportId: Number(r.last_id),
      firstQuoted: parseTime(r.first_quoted),
      lastQuoted: parseTime(r.last_quoted),
      biosAttestationId: r.bios_id === null || r.bios_id === undefined ? null : Number(r.bios_id),
    }));
  }

  async reportEvidence(attestationId: number): Promise<ReportEvidence> {
    const [r] = await this.sql.all(
      'SELECT (SELECT COUNT(*) FROM bioslog WHERE attestation_id = ?) AS bios, (SELECT COUNT(*) FROM imalog WHERE attestation_id = ?) AS ima',
      [attestationId, attestationId],
    );
    return { firmwareEvents: Number(r!.bios), imaEvents: Number(r!.ima) };
  }

  async reportFirmwareEvents(attestationId: number, cursor?: string, limit?: number): Promise<Page<StoredBiosEvent>> {
    return keysetPage(this.sql, {
      select: `SELECT id, ${biosEventCodec.select('bioslog')} FROM bioslog`,
      where: ['attestation_id = ?'],
      params: [attestationId],
      cursor,
      limit,
      decode: (r) => ({ id: Number(r.id), ...biosEventCodec.decode(r) }),
    });
  }

  async securityEvents(cursor?: string, limit?: number): Promise<Page<StoredSecurityEvent>> {
    const n = limitOf(limit, 50, 500);
    const before = cursor ? Number(/^\d{1,15}$/.exec(cursor)?.[0] ?? NaN) : null;
    if (before !== null && !Number.isSafeInteger(before)) throw new QueryInputError('malformed cursor', 'cursor');
    const rows = await this.sql.all(
      `SELECT ${securityEventCodec.select()} FROM security_events${before !== null ? ' WHERE id < ?' : ''} ORDER BY id DESC LIMIT ?`,
      before !== null ? [before, n + 1] : [n + 1],
    );
    const items = rows.map((r) => securityEventCodec.decode(r));
    return items.length > n ? { items: items.slice(0, n), next: String(items[n - 1]!.id) } : { items, next: null };
  }
}

/** The web's queries over a driver (possibly a counting wrapper around the store's own). */
export function webQueries(driver: SqlDriver): WebQueries {
  return new SqlWebQueries(driver);
}
