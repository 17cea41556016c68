/**
 * SearchQueries in SQL both dialects accept. Every search is keyset-paged in
 * (machine_id, id) order, the order of imalog_filehash_idx,
 * imalog_path_idx and bioslog_sha{1,256}_idx after their leading digest
 * or path, so a page of one digest or one path is an index range; rows
 * inserted while a client pages land after or before its cursor, never
 * shifting the rows it has not read yet. Each call is a fixed number of
 * statements.
 */
import { formatTime, ident, parseTime, type SqlDriver, type SqlRow, type SqlValue } from './driver.js';
import { cursorOf, limitOf, page } from './forensics-sql.js';
import { notRefused } from './report-sql.js';
import { pcrColumn } from './schema/columns.js';
import type {
  BootRef, FileHistory, FirmwareDigestSearch, FirmwareHit, ImaChange, ImaHit, ImaSearch, PcrHit, PcrSearch, SearchPage, SearchQueries,
} from './search-queries.js';

const CURSOR = /^(\d{1,10})\.(\d{1,15})$/;
/** Above every code point: `prefix + TOP` bounds the range of strings starting with prefix. */
const TOP = '\u{10FFFF}';
/** A machine's newest accepted report: the PCRs it last proved. */
const LAST_VERIFIED =
  `(SELECT x.id FROM attestlog x WHERE x.machine_id = m.id AND x.quoted IS NOT NULL AND ${notRefused('x')} ORDER BY x.id DESC LIMIT 1)`;

/** SQL conditions and their parameters, built up clause by clause. */
class Where {
  readonly parts: string[] = [];
  readonly params: SqlValue[] = [];

  add(sql: string, ...params: SqlValue[]): this {
    this.parts.push(sql);
    this.params.push(...params);
    return this;
  }

  in(column: string, values: readonly string[]): this {
    return this.add(`${column} IN (${values.map(() => '?').join(', ')})`, ...values);
  }

  get sql(): string {
    return this.parts.length ? this.parts.join(' AND ') : '1 = 1';
  }
}

/** `alias.boottime` equal to a boot's, NULL included. */
function bootIs(alias: string, boot: BootRef, w: Where): Where {
  w.add(`${alias}.machine_id = ?`, boot.machineId);
  return boot.boottime === null ? w.add(`${alias}.boottime IS NULL`) : w.add(`${alias}.boottime = ?`, boot.boottime);
}

function keyset(w: Where, alias: string, cursor: string | undefined): void {
  const after = cursorOf(cursor, CURSOR);
  if (after) w.add(`(${alias}.machine_id > ? OR (${alias}.machine_id = ? AND ${alias}.id > ?))`, after[0]!, after[0]!, after[1]!);
}

const nextCursor = (last: { machineId: number; id: number }) => `${last.machineId}.${last.id}`;

export class SqlSearch implements SearchQueries {
  constructor(private readonly db: SqlDriver) {}

  private async machineCount(sql: string, params: SqlValue[]): Promise<number> {
    const rows = await this.db.all(sql, params);
    return Number(rows[0]?.n ?? 0);
  }

  async ima(q: ImaSearch): Promise<SearchPage<ImaHit>> {
    const limit = limitOf(q.limit, 100, 1000);
    const w = new Where();
    if (q.filehashes) w.in('i.filehash', q.filehashes);
    if (q.path !== undefined) w.add('i.filename = ?', q.path);
    if (q.pathPrefix !== undefined) {
      // A range the path index answers, then the exact prefix test (character counts agree in both dialects).
      w.add('i.filename >= ? AND i.filename < ? AND SUBSTR(i.filename, 1, ?) = ?', q.pathPrefix, q.pathPrefix + TOP, [...q.pathPrefix].length, q.pathPrefix);
    }
    if (q.notFilehashes) w.add(`(i.filehash IS NULL OR i.filehash NOT IN (${q.notFilehashes.map(() => '?').join(', ')}))`, ...q.notFilehashes);
    if (q.machineId !== undefined) w.add('i.machine_id = ?', q.machineId);
    if (q.since) w.add('i.timestamp >= ?', formatTime(q.since));
    if (q.until) w.add('i.timestamp < ?', formatTime(q.until));
    const machines = await this.machineCount(`SELECT COUNT(DISTINCT i.machine_id) AS n FROM imalog i WHERE ${w.sql}`, w.params);
    keyset(w, 'i', q.cursor);
    // The page is cut first; first/last seen are then looked up for its rows only, through the path index.
    const seen = (fn: string) => `(SELECT ${fn}(y.timestamp) FROM imalog y WHERE y.filename = p.filename AND y.machine_id = p.machine_id
        AND COALESCE(y.filehash, '') = COALESCE(p.filehash, ''))`;
    const rows = await this.db.all(
      `SELECT p.*, m.hostname, ${seen('MIN')} AS first_seen, ${seen('MAX')} AS last_seen
       FROM (SELECT i.id, i.machine_id, i.entrynum, i.filename, i.filehash, i.template, i.boottime, i.attestation_id, i.refused FROM imalog i
             WHERE ${w.sql} ORDER BY i.machine_id, i.id LIMIT ?) p
       JOIN machines m ON m.id = p.machine_id
       ORDER BY p.machine_id, p.id`,
      [...w.params, limit + 1],
    );
    const hits = rows.map((r) => ({
      id: Number(r.id),
      machineId: Number(r.machine_id),
      hostname: String(r.hostname),
      entrynum: Number(r.entrynum),
      filename: String(r.filename),
      filehash: (r.filehash as string | null) ?? null,
      template: String(r.template),
      boottime: (r.boottime as string | null) ?? null,
      firstSeen: parseTime(r.first_seen),
      lastSeen: parseTime(r.last_seen),
      reportId: Number(r.attestation_id),
      refused: Number(r.refused) === 1,
    }));
    const result = page(hits, limit, nextCursor);
    return { items: result.items.map(({ id: _id, ...hit }) => hit), next: result.next, machines };
  }

  async pcrValue(q: PcrSearch): Promise<SearchPage<PcrHit>> {
    const limit = limitOf(q.limit, 100, 1000);
    const column = `a.${ident(pcrColumn(q.pcr, q.bank))}`;
    const w = new Where().add(`${column} = ?`, q.value);
    if (q.machineId !== undefined) w.add('m.id = ?', q.machineId);
    const from = `machines m JOIN attestlog a ON a.id = ${LAST_VERIFIED}`;
    const machines = await this.machineCount(`SELECT COUNT(*) AS n FROM ${from} WHERE ${w.sql}`, w.params);
    const after = cursorOf(q.cursor, /^(\d{1,10})$/);
    if (after) w.add('m.id > ?', after[0]!);
    const rows = await this.db.all(
      `SELECT m.id AS machine_id, m.hostname, a.id AS report_id, a.boottime, ${column} AS value FROM ${from}
       WHERE ${w.sql} ORDER BY m.id LIMIT ?`,
      [...w.params, limit + 1],
    );
    const hits = rows.map((r) => ({
      machineId: Number(r.machine_id),
      hostname: String(r.hostname),
      reportId: Number(r.report_id),
      boottime: (r.boottime as string | null) ?? null,
      pcr: q.pcr,
      value: String(r.value),
    }));
    return { ...page(hits, limit, (last) => String(last.machineId)), machines };
  }

  async firmwareDigest(q: FirmwareDigestSearch): Promise<SearchPage<FirmwareHit>> {
    const limit = limitOf(q.limit, 100, 1000);
    const w = new Where().add(`b.${ident(q.bank === 'sha256' ? 'pcrsha256' : 'pcrsha1')} = ?`, q.digest);
    if (q.machineId !== undefined) w.add('b.machine_id = ?', q.machineId);
    const machines = await this.machineCount(`SELECT COUNT(DISTINCT b.machine_id) AS n FROM bioslog b WHERE ${w.sql}`, w.params);
    keyset(w, 'b', q.cursor);
    const rows = await this.db.all(
      `SELECT b.id, b.machine_id, m.hostname, b.attestation_id, a.boottime, b.pcrindex, b.entrynum, b.eventtype, b.refused
       FROM bioslog b JOIN machines m ON m.id = b.machine_id JOIN attestlog a ON a.id = b.attestation_id
       WHERE ${w.sql} ORDER BY b.machine_id, b.id LIMIT ?`,
      [...w.params, limit + 1],
    );
    const hits = rows.map((r) => ({
      id: Number(r.id),
      machineId: Number(r.machine_id),
      hostname: String(r.hostname),
      reportId: Number(r.attestation_id),
      boottime: (r.boottime as string | null) ?? null,
      pcr: Number(r.pcrindex),
      entrynum: Number(r.entrynum),
      eventtype: String(r.eventtype),
      refused: Number(r.refused) === 1,
    }));
    const result = page(hits, limit, nextCursor);
    return { items: result.items.map(({ id: _id, ...hit }) => hit), next: result.next, machines };
  }

  async fileHistory(filehashes: string[]): Promise<FileHistory> {
    const w = new Where().in('i.filehash', filehashes);
    const [byMachine, byPath] = [
      await this.db.all(
        `SELECT m.hostname, COUNT(*) AS n, MIN(i.timestamp) AS first_seen, MAX(i.timestamp) AS last_seen
         FROM imalog i JOIN machines m ON m.id = i.machine_id WHERE ${w.sql}
         GROUP BY i.machine_id, m.hostname ORDER BY MIN(i.timestamp), m.hostname`,
        w.params,
      ),
      await this.db.all(
        `SELECT i.filename, COUNT(DISTINCT i.machine_id) AS machines, COUNT(*) AS n, MIN(i.timestamp) AS first_seen, MAX(i.timestamp) AS last_seen
         FROM imalog i WHERE ${w.sql} GROUP BY i.filename ORDER BY MIN(i.timestamp), i.filename`,
        w.params,
      ),
    ];
    const span = (r: SqlRow) => ({ entries: Number(r.n), firstSeen: parseTime(r.first_seen), lastSeen: parseTime(r.last_seen) });
    const machines = byMachine.map((r) => ({ hostname: String(r.hostname), ...span(r) }));
    const times = machines.flatMap((m) => [m.firstSeen.getTime(), m.lastSeen.getTime()]);
    return {
      entries: machines.reduce((n, m) => n + m.entries, 0),
      firstSeen: times.length ? new Date(Math.min(...times)) : null,
      lastSeen: times.length ? new Date(Math.max(...times)) : null,
      machines,
      paths: byPath.map((r) => ({ path: String(r.filename), machines: Number(r.machines), ...span(r) })),
    };
  }

  async lastVerifiedReportId(boot: BootRef): Promise<number | undefined> {
    const w = bootIs('a', boot, new Where()).add(`a.quoted IS NOT NULL AND ${notRefused('a')}`);
    const rows = await this.db.all(`SELECT a.id FROM attestlog a WHERE ${w.sql} ORDER BY a.id DESC LIMIT 1`, w.params);
    return rows.length ? Number(rows[0]!.id) : undefined;
  }

  async imaChanges(earlier: BootRef, later: BootRef, limit: number): Promise<{ items: ImaChange[]; more: boolean }> {
    // Both boots are read in full through imalog_boot_entry_idx and compared here: a plan that cannot go wrong,
    // linear in the two boots' sizes (an anti-join per entry may be planned as a scan of the earlier boot per entry).
    // Only the accepted chain: entries that came with a refused report are evidence, not the boot's files.
    const read = (boot: BootRef, columns: string) => {
      const w = bootIs('i', boot, new Where()).add('i.refused = 0');
      return this.db.all(`SELECT ${columns} FROM imalog i WHERE ${w.sql} ORDER BY i.entrynum, i.id`, w.params);
    };
    const before = await read(earlier, 'i.filename, i.filehash');
    const paths = new Set(before.map((r) => String(r.filename)));
    const seen = new Set(before.map((r) => `${r.filehash ?? ''}\0${r.filename}`));
    const items: ImaChange[] = [];
    let more = false;
    for (const r of await read(later, 'i.entrynum, i.filename, i.filehash, i.template')) {
      if (seen.has(`${r.filehash ?? ''}\0${r.filename}`)) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      const filename = String(r.filename);
      items.push({ entrynum: Number(r.entrynum), filename, filehash: (r.filehash as string | null) ?? null, template: String(r.template), changed: paths.has(filename) });
    }
    return { items, more };
  }

}
