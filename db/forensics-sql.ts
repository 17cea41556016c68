/**
 * ForensicsQueries in SQL both dialects accept. The machine's last report is
 * found with one correlated MAX(id) per machine over attestlog(machine_id, id),
 * and the machine list reads only the columns it shows. Pages are
 * keyset-paginated (id, or entrynum then id) so deep pages stay cheap.
 */
import { formatTime, parseTime, type SqlDriver, type SqlRow, type SqlValue } from './driver.js';
import { notRefused, refused } from './report-sql.js';
import { attestationCodec, biosEventCodec, imaEventCodec, machineCodec, type RowCodec } from './rows.js';
import {
  DEFAULT_STALE_AFTER_MS, IMA_SEARCH_WINDOW, IMA_STATUSES, MACHINE_STATES, QueryInputError,
  type BiosLog, type ForensicsQueries, type ImaBoot, type ImaFilter, type ImaPage, type ImaStatus, type MachineListItem,
  type MachineState, type MachineSummary, type OverviewCounts, type Page, type ReportFilter, type StateOptions,
} from './queries.js';
import type { AttestationRow } from './store.js';

/** The newest report of machine m. */
const LAST_REPORT = '(SELECT x.id FROM attestlog x WHERE x.machine_id = m.id AND x.quoted IS NOT NULL ORDER BY x.id DESC LIMIT 1)';
/**
 * The machine's state from its last report a; the parameter is the stale limit.
 * reportState in queries.ts decides the same for one report in TypeScript.
 * Only a report whose quote and logs both verified can make a machine trusted.
 */
const STATE = `CASE WHEN a.id IS NULL THEN 'never'
  WHEN ${refused('a')} OR a.pcrinvalid = 1 OR COALESCE(a.quoteverified, 0) <> 1 OR COALESCE(a.logverified, 0) <> 1
    OR COALESCE(a.policy_violations, 0) > 0 THEN 'failing'
  WHEN a.quoted < ? THEN 'stale' ELSE 'trusted' END`;
const machineList = machineCodec.pick(['id', 'hostname', 'tpmvendor', 'ekAlg', 'akAlg', 'enrolled', 'boottime', 'imaevents']);
const reportSummary = attestationCodec.omit(['quote', 'pcrs', 'verdict']);

/** Each machine with its last report and state, read through the given codecs. */
function summarySelect(m: RowCodec<unknown>, a: RowCodec<unknown>): string {
  return `SELECT ${m.select('m', 'm_')}, ${a.select('a', 'a_')}, ${STATE} AS state FROM machines m LEFT JOIN attestlog a ON a.id = ${LAST_REPORT}`;
}
const SUMMARY_SELECT = summarySelect(machineCodec, attestationCodec);
const LIST_SELECT = summarySelect(machineList, reportSummary);
const PROBLEM = '(badevent = 1 OR nosig = 1 OR nokey = 1 OR badsig = 1)';
const IMA_STATUS_SQL: Record<ImaStatus, string | null> = {
  all: null,
  ok: `NOT ${PROBLEM}`,
  problem: PROBLEM,
  badevent: 'badevent = 1',
  nosig: 'nosig = 1',
  nokey: 'nokey = 1',
  badsig: 'badsig = 1',
};

/** The largest id a cursor may carry (15 digits): "after it" means after every row of that entry number. */
const AFTER_EVERY_ID = '999999999999999';

export function limitOf(value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw new QueryInputError(`limit must be 1..${max}`, 'limit');
  return value;
}

export function cursorOf(cursor: string | undefined, pattern: RegExp): number[] | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const m = pattern.exec(cursor);
  const parts = m?.slice(1).map(Number);
  if (!parts || parts.some((n) => !Number.isSafeInteger(n))) throw new QueryInputError('malformed cursor', 'cursor');
  return parts;
}

function staleBefore(opts: StateOptions = {}): string {
  const now = opts.now ?? new Date();
  return formatTime(new Date(now.getTime() - (opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS)));
}

function summary<M, A>(row: SqlRow, m: RowCodec<M>, a: RowCodec<A>): { machine: M; last: A | null; state: MachineState } {
  return {
    machine: m.decode(row, 'm_'),
    last: row.a_id === null || row.a_id === undefined ? null : a.decode(row, 'a_'),
    state: row.state as MachineState,
  };
}

/** Rows fetched with LIMIT n+1 → one page and the cursor of its last item when more follow. */
export function page<T>(items: T[], limit: number, cursor: (last: T) => string): Page<T> {
  const more = items.length > limit;
  const shown = more ? items.slice(0, limit) : items;
  return { items: shown, next: more ? cursor(shown[shown.length - 1]!) : null };
}

/** Events of one log in (entrynum, id) order, paged by a cursor "entrynum.id" (LIMIT n+1 tells whether more follow). */
export async function keysetPage<T extends { entrynum: number; id: number }>(db: SqlDriver, q: {
  select: string; where: string[]; params: SqlValue[]; cursor?: string; limit?: number; decode: (r: SqlRow) => T;
}): Promise<Page<T>> {
  const limit = limitOf(q.limit, 200, 5000);
  const after = cursorOf(q.cursor, /^(\d{1,10})\.(\d{1,15})$/);
  const where = [...q.where];
  const params = [...q.params];
  if (after) (where.push('(entrynum > ? OR (entrynum = ? AND id > ?))'), params.push(after[0]!, after[0]!, after[1]!));
  const rows = await db.all(`${q.select} WHERE ${where.join(' AND ')} ORDER BY entrynum, id LIMIT ?`, [...params, limit + 1]);
  return page(rows.map(q.decode), limit, (last) => `${last.entrynum}.${last.id}`);
}

export class SqlForensics implements ForensicsQueries {
  constructor(private readonly db: SqlDriver) {}

  async machines(opts: StateOptions & { state?: MachineState } = {}): Promise<MachineListItem[]> {
    const params: SqlValue[] = [staleBefore(opts)];
    let sql = `SELECT * FROM (${LIST_SELECT}) s`;
    if (opts.state !== undefined) {
      if (!MACHINE_STATES.includes(opts.state)) throw new QueryInputError('unknown machine state', 'state');
      sql += ' WHERE s.state = ?';
      params.push(opts.state);
    }
    return (await this.db.all(`${sql} ORDER BY s.m_hostname`, params)).map((r) => summary(r, machineList, reportSummary));
  }

  async machine(id: number, opts: StateOptions = {}): Promise<MachineSummary | undefined> {
    const rows = await this.db.all(`${SUMMARY_SELECT} WHERE m.id = ?`, [staleBefore(opts), id]);
    return rows.length ? summary(rows[0]!, machineCodec, attestationCodec) : undefined;
  }

  async reports(filter: ReportFilter = {}): Promise<Page<AttestationRow>> {
    const limit = limitOf(filter.limit, 50, 500);
    const before = cursorOf(filter.cursor, /^(\d{1,15})$/);
    const where: string[] = [];
    const params: SqlValue[] = [];
    const from = filter.latestPerHost ? `machines m JOIN attestlog a ON a.id = ${LAST_REPORT}` : 'attestlog a';
    if (!filter.includePending && !filter.latestPerHost) where.push('a.quoted IS NOT NULL');
    if (filter.hostname !== undefined) (where.push('a.hostname = ?'), params.push(filter.hostname));
    if (filter.machineId !== undefined) (where.push('a.machine_id = ?'), params.push(filter.machineId));
    if (filter.failed !== undefined) where.push(filter.failed ? refused('a') : notRefused('a'));
    // `= 1` (not COALESCE) so the (flag, id) indexes answer "newest flagged reports" without a scan.
    if (filter.pcrinvalid !== undefined) where.push(filter.pcrinvalid ? 'a.pcrinvalid = 1' : '(a.pcrinvalid = 0 OR a.pcrinvalid IS NULL)');
    if (filter.pcrschanged !== undefined) where.push(filter.pcrschanged ? 'a.pcrschanged = 1' : '(a.pcrschanged = 0 OR a.pcrschanged IS NULL)');
    if (before) (where.push('a.id < ?'), params.push(before[0]!));
    const sql = `SELECT ${attestationCodec.select('a')} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
      ORDER BY a.id DESC LIMIT ?`;
    const rows = await this.db.all(sql, [...params, limit + 1]);
    return page(rows.map((r) => attestationCodec.decode(r)), limit, (last) => String(last.id));
  }

  async report(id: number): Promise<AttestationRow | undefined> {
    const rows = await this.db.all(`SELECT ${attestationCodec.select('a')} FROM attestlog a WHERE a.id = ?`, [id]);
    return rows.length ? attestationCodec.decode(rows[0]!) : undefined;
  }

  async biosLog(attestationId: number): Promise<BiosLog> {
    const rows = await this.db.all(
      // The report's own events (accepted or refused), else the newest accepted log before it.
      `SELECT b.id, ${biosEventCodec.select('b')} FROM bioslog b
       WHERE b.attestation_id = COALESCE(
         (SELECT MAX(o.attestation_id) FROM bioslog o WHERE o.attestation_id = ?),
         (SELECT MAX(x.attestation_id) FROM bioslog x JOIN attestlog r ON x.machine_id = r.machine_id
          WHERE r.id = ? AND x.refused = 0 AND x.attestation_id <= r.id))
       ORDER BY b.entrynum, b.id`,
      [attestationId, attestationId],
    );
    const events = rows.map((r) => ({ id: Number(r.id), ...biosEventCodec.decode(r) }));
    return { attestationId: events[0]?.attestationId ?? null, events };
  }

  async imaBoots(machineId: number): Promise<ImaBoot[]> {
    const rows = await this.db.all(
      `SELECT boottime, COUNT(*) AS events, SUM(CASE WHEN ${PROBLEM} THEN 1 ELSE 0 END) AS problems,
              MIN(entrynum) AS first_entry, MAX(entrynum) AS last_entry, MIN(timestamp) AS first_seen, MAX(timestamp) AS last_seen
       FROM imalog WHERE machine_id = ? AND refused = 0 GROUP BY boottime ORDER BY MAX(id) DESC`,
      [machineId],
    );
    return rows.map((r) => ({
      boottime: (r.boottime as string | null) ?? null,
      events: Number(r.events),
      problems: Number(r.problems),
      firstEntry: Number(r.first_entry),
      lastEntry: Number(r.last_entry),
      firstSeen: parseTime(r.first_seen),
      lastSeen: parseTime(r.last_seen),
    }));
  }

  async imaLog(filter: ImaFilter): Promise<ImaPage> {
    const limit = limitOf(filter.limit, 200, 5000);
    const after = cursorOf(filter.cursor, /^(\d{1,10})\.(\d{1,15})$/);
    const status = filter.status ?? 'all';
    if (!IMA_STATUSES.includes(status)) throw new QueryInputError('unknown IMA status', 'status');
    // One report's events (accepted or refused), or the accepted chain of one boot.
    const boot = filter.attestationId !== undefined
      ? ['machine_id = ?', 'attestation_id = ?']
      : ['machine_id = ?', filter.boottime === null ? 'boottime IS NULL' : 'boottime = ?', 'refused = 0'];
    const bootParams: SqlValue[] = filter.attestationId !== undefined
      ? [filter.machineId, filter.attestationId]
      : filter.boottime === null ? [filter.machineId] : [filter.machineId, filter.boottime];
    const where = [...boot];
    const params = [...bootParams];
    const statusSql = IMA_STATUS_SQL[status];
    if (statusSql) where.push(statusSql);
    // A path search reads rows (the file name is not in an index): at most one window of entry numbers per call.
    const windowEnd = filter.path ? (after ? after[0]! + 1 : 0) + IMA_SEARCH_WINDOW : null;
    if (filter.path) (where.push('INSTR(filename, ?) > 0', 'entrynum < ?'), params.push(filter.path, windowEnd!));
    if (after) (where.push('(entrynum > ? OR (entrynum = ? AND id > ?))'), params.push(after[0]!, after[0]!, after[1]!));
    const rows = await this.db.all(
      `SELECT id, ${imaEventCodec.select('imalog')} FROM imalog WHERE ${where.join(' AND ')} ORDER BY entrynum, id LIMIT ?`,
      [...params, limit + 1],
    );
    const events = rows.map((r) => ({ id: Number(r.id), ...imaEventCodec.decode(r) }));
    const result = page(events, limit, (last) => `${last.entrynum}.${last.id}`);
    if (windowEnd === null || result.next !== null) return { ...result, searchedThrough: null };
    const beyond = await this.db.all(`SELECT 1 AS more FROM imalog WHERE ${boot.join(' AND ')} AND entrynum >= ? LIMIT 1`, [...bootParams, windowEnd]);
    // The next call starts after the window: past every id of its last entry number.
    return beyond.length ? { ...result, next: `${windowEnd - 1}.${AFTER_EVERY_ID}`, searchedThrough: windowEnd - 1 } : { ...result, searchedThrough: null };
  }

  async overview(opts: StateOptions = {}): Promise<OverviewCounts> {
    const rows = await this.db.all(
      `SELECT s.state, COUNT(*) AS n FROM (SELECT ${STATE} AS state FROM machines m LEFT JOIN attestlog a ON a.id = ${LAST_REPORT}) s
       GROUP BY s.state`,
      [staleBefore(opts)],
    );
    const counts: OverviewCounts = { machines: 0, trusted: 0, failing: 0, stale: 0, never: 0 };
    for (const r of rows) {
      counts[r.state as MachineState] = Number(r.n);
      counts.machines += Number(r.n);
    }
    return counts;
  }
}

/** The read queries over a driver (a store's own, or a counting wrapper around it). */
export function forensicsQueries(driver: SqlDriver): ForensicsQueries {
  return new SqlForensics(driver);
}
