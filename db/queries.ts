/**
 * Read-only queries behind the web UI and JSON API: machine list with each
 * machine's last report and state, reports paged by cursor, firmware and IMA
 * logs. Each call is a fixed number of statements (joins, no query per row).
 * forensicsQueries(driver) in forensics-sql.ts gives the implementation.
 *
 * A report is an attestlog row whose quote arrived (`quoted` set). A report
 * failed when the server refused the quote (`error_code` set). A machine is
 *   never    — no report yet (including machines still enrolling),
 *   failing  — its last report failed, its PCRs left the white list or reference
 *              values (pcrinvalid), an IMA policy did not allow an entry of this
 *              boot, or it lacks quoteverified = 1 and logverified = 1,
 *   stale    — its last report passed but is older than the stale limit,
 *   trusted  — otherwise: the last report's quote and logs verified, recently.
 */
import type { AttestationRow, BiosEventRow, ImaEventRow, MachineRow, ReportOutcome } from './store.js';

export type MachineState = 'trusted' | 'failing' | 'stale' | 'never';
export const MACHINE_STATES: readonly MachineState[] = ['trusted', 'failing', 'stale', 'never'];

/** How old a passing last report may be before its machine counts as stale, by default. */
export const DEFAULT_STALE_AFTER_MS = 24 * 60 * 60 * 1000;

export interface StateOptions {
  /** Default DEFAULT_STALE_AFTER_MS. */
  staleAfterMs?: number;
  /** The clock, for tests. */
  now?: Date;
}

/** The state a machine is in when `last` is its newest report (the STATE expression of forensics-sql.ts, for one report). */
export function reportState(last: ReportOutcome | undefined, staleAfterMs: number, now: Date): MachineState {
  if (!last || !last.quoted) return 'never';
  if (last.errorCode !== null || last.pcrinvalid === true || last.quoteverified !== true || last.logverified !== true || (last.policyViolations ?? 0) > 0) {
    return 'failing';
  }
  return last.quoted.getTime() < now.getTime() - staleAfterMs ? 'stale' : 'trusted';
}

export interface MachineSummary {
  machine: MachineRow;
  /** The newest report, or null. */
  last: AttestationRow | null;
  state: MachineState;
}

/** What the machine list shows of a machine: no certificates, keys or white list. */
export type MachineListRow = Pick<MachineRow, 'id' | 'hostname' | 'tpmvendor' | 'ekAlg' | 'akAlg' | 'enrolled' | 'boottime' | 'imaevents'>;
/** A report without its stored quote request, PCR values and verdict (its one-line diagnosis stays). */
export type ReportSummary = Omit<AttestationRow, 'quote' | 'pcrs' | 'verdict'>;

/** A machine of the list: a MachineSummary without its large columns, so a list of thousands stays cheap. */
export interface MachineListItem {
  machine: MachineListRow;
  last: ReportSummary | null;
  state: MachineState;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next: string | null;
}

export interface ReportFilter {
  /** Exact hostname. */
  hostname?: string;
  machineId?: number;
  failed?: boolean;
  pcrinvalid?: boolean;
  pcrschanged?: boolean;
  /** Only each machine's newest report (filters apply to it). */
  latestPerHost?: boolean;
  /** Also list nonces whose quote never arrived. */
  includePending?: boolean;
  cursor?: string;
  /** 1..500, default 50. */
  limit?: number;
}

export type StoredBiosEvent = BiosEventRow & { id: number };
export type StoredImaEvent = ImaEventRow & { id: number };

export interface BiosLog {
  /** The attestation that carried the log: the one asked for, or the latest earlier one of its machine that had one. */
  attestationId: number | null;
  events: StoredBiosEvent[];
}

/** `problem` is any of badevent/nosig/nokey/badsig; `ok` is none of them. */
export type ImaStatus = 'all' | 'ok' | 'problem' | 'badevent' | 'nosig' | 'nokey' | 'badsig';
export const IMA_STATUSES: readonly ImaStatus[] = ['all', 'ok', 'problem', 'badevent', 'nosig', 'nokey', 'badsig'];

export interface ImaFilter {
  machineId: number;
  /** The boot, as stored on the events (host-reported boottime); null for events without one. Only accepted events. */
  boottime: string | null;
  /** Instead of a boot: the events stored with one report, accepted or refused. */
  attestationId?: number;
  status?: ImaStatus;
  /** Case-sensitive substring of the file name; searches IMA_SEARCH_WINDOW entry numbers per call. */
  path?: string;
  cursor?: string;
  /** 1..5000, default 200. */
  limit?: number;
}

/**
 * Entry numbers a path search reads per call: substring matching reads every
 * row it passes, so a search of a huge boot is cut into bounded calls that
 * continue from `next`.
 */
export const IMA_SEARCH_WINDOW = 50_000;

export interface ImaPage extends Page<StoredImaEvent> {
  /**
   * Set when a path search stopped at the end of its window before finding
   * `limit` matches: the last entry number it searched (`next` continues
   * after it). Null otherwise.
   */
  searchedThrough: number | null;
}

export interface ImaBoot {
  boottime: string | null;
  events: number;
  /** Events with any problem flag. */
  problems: number;
  firstEntry: number;
  lastEntry: number;
  firstSeen: Date;
  lastSeen: Date;
}

export interface OverviewCounts {
  machines: number;
  trusted: number;
  failing: number;
  stale: number;
  never: number;
}

export interface ForensicsQueries {
  /** All machines ordered by hostname, optionally only those in one state. */
  machines(opts?: StateOptions & { state?: MachineState }): Promise<MachineListItem[]>;
  machine(id: number, opts?: StateOptions): Promise<MachineSummary | undefined>;
  /** Reports newest first. */
  reports(filter?: ReportFilter): Promise<Page<AttestationRow>>;
  report(id: number): Promise<AttestationRow | undefined>;
  biosLog(attestationId: number): Promise<BiosLog>;
  /** The boots a machine has IMA events for, newest first. */
  imaBoots(machineId: number): Promise<ImaBoot[]>;
  /** IMA events of one machine and boot in log order. */
  imaLog(filter: ImaFilter): Promise<ImaPage>;
  overview(opts?: StateOptions): Promise<OverviewCounts>;
}

/** A filter value the caller passed (cursor, limit, status) is malformed. */
export class QueryInputError extends Error {
  override name = 'QueryInputError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

