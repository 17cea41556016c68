/**
 * Fleet-wide reads of the stored evidence: IMA entries by file digest or
 * path across every machine, firmware events by digest, machines by their
 * latest verified PCR value, one file's history, and the differences between
 * two boots. search-sql.ts answers them from the event tables through
 * imalog_filehash_idx, imalog_path_idx and bioslog_sha{1,256}_idx, so a
 * search reads the matching rows only, never a machine's whole log.
 *
 * Digests arrive already validated: `filehash` values are the stored
 * "alg:hex" form, PCR and event digests lowercase hex.
 */
import type { PcrBankName } from '../shared/tpm/pcr-banks.js';
import type { Page } from './queries.js';

export interface ImaSearch {
  /** Stored filehash values ("sha256:…") any of which matches; one per algorithm the digest's length allows. */
  filehashes?: string[];
  /** Exact file name. */
  path?: string;
  /** File names starting with this. */
  pathPrefix?: string;
  /** With path/pathPrefix: only entries whose filehash is none of these. */
  notFilehashes?: string[];
  machineId?: number;
  /** Entries received at or after / before these times. */
  since?: Date;
  until?: Date;
  cursor?: string;
  /** 1..1000, default 100. */
  limit?: number;
}

export interface ImaHit {
  machineId: number;
  hostname: string;
  entrynum: number;
  filename: string;
  filehash: string | null;
  template: string;
  boottime: string | null;
  /** When the server first / last received an entry of this path and digest from this machine. */
  firstSeen: Date;
  lastSeen: Date;
  reportId: number;
  /** The entry came with a refused report. */
  refused: boolean;
}

export interface SearchPage<T> extends Page<T> {
  /** Distinct machines among all matches (every page, not only this one). */
  machines: number;
}

export interface PcrSearch {
  bank: PcrBankName;
  pcr: number;
  /** Lowercase hex of the bank's digest size. */
  value: string;
  machineId?: number;
  cursor?: string;
  limit?: number;
}

export interface PcrHit {
  machineId: number;
  hostname: string;
  reportId: number;
  boottime: string | null;
  pcr: number;
  value: string;
}

export interface FirmwareDigestSearch {
  bank: PcrBankName;
  digest: string;
  machineId?: number;
  cursor?: string;
  limit?: number;
}

export interface FirmwareHit {
  machineId: number;
  hostname: string;
  reportId: number;
  boottime: string | null;
  pcr: number;
  entrynum: number;
  eventtype: string;
  refused: boolean;
}

/** One file digest across the fleet. */
export interface FileHistory {
  /** Entries carrying the digest; 0 when the fleet never reported it. */
  entries: number;
  firstSeen: Date | null;
  lastSeen: Date | null;
  machines: { hostname: string; entries: number; firstSeen: Date; lastSeen: Date }[];
  paths: { path: string; machines: number; entries: number; firstSeen: Date; lastSeen: Date }[];
}

/** A boot of one machine, as IMA and attestlog rows record it. */
export interface BootRef {
  machineId: number;
  boottime: string | null;
}

/** An IMA entry of the later boot whose path and digest the earlier boot never had. */
export interface ImaChange {
  entrynum: number;
  filename: string;
  filehash: string | null;
  template: string;
  /** The earlier boot measured the same path with another digest (else the path is new). */
  changed: boolean;
}

export interface SearchQueries {
  ima(q: ImaSearch): Promise<SearchPage<ImaHit>>;
  pcrValue(q: PcrSearch): Promise<SearchPage<PcrHit>>;
  firmwareDigest(q: FirmwareDigestSearch): Promise<SearchPage<FirmwareHit>>;
  fileHistory(filehashes: string[]): Promise<FileHistory>;
  /** The newest accepted report of a boot (its PCRs are the boot's verified values), or undefined. */
  lastVerifiedReportId(boot: BootRef): Promise<number | undefined>;
  /** Entries of `later` new or changed since `earlier`, in entry order, at most `limit`. */
  imaChanges(earlier: BootRef, later: BootRef, limit: number): Promise<{ items: ImaChange[]; more: boolean }>;
}
