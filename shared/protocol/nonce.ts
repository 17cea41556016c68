/**
 * `nonce` messages (PROTOCOL.md "Attestation"): the client reports its boot
 * time; the server answers a fresh nonce, the PCR selection to quote and
 * where each log should resume.
 */
import { ACS_ERROR, AcsError } from './errors.js';
import type { JsonObject } from './frame.js';
import { hexMember, hostnameMember, integerMember, stringMember, textMember, toHex } from './fields.js';

export interface NonceRequest {
  command: 'nonce';
  hostname: string;
  /** Login running the client, or "unknown". */
  userid: string;
  /** "YYYY-MM-DD HH:MM:SS", as the host reports it (untrusted). */
  boottime: string;
}

export interface NonceResponse {
  nonce: Buffer;
  /** Marshaled TPML_PCR_SELECTION. */
  pcrselect: Buffer;
  /** 0: send the whole firmware log; -1: send none. */
  biosentry: number;
  /** First IMA event index to send. */
  imaentry: number;
}

const BOOTTIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/**
 * A real instant in "YYYY-MM-DD HH:MM:SS" that both stores keep as it is:
 * a day the month has, hour 0-23, minute and second 0-59, year 1000-9999
 * (MariaDB's DATETIME range). A leap second (:60) is refused: no store
 * represents it, and Linux reports a boot time without one.
 */
export function isBoottime(text: string): boolean {
  const m = BOOTTIME.exec(text);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (year < 1000 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
  // Day 0 or past the month's end rolls over into another month.
  return day >= 1 && new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
}

export function parseNonceRequest(obj: JsonObject): NonceRequest {
  const hostname = hostnameMember(obj);
  const userid = textMember(obj, 'userid');
  const boottime = stringMember(obj, 'boottime');
  if (!isBoottime(boottime)) {
    throw new AcsError(ACS_ERROR.BAD_VALUE, 'member "boottime" must be a real time "YYYY-MM-DD HH:MM:SS" (years 1000-9999, seconds 0-59)');
  }
  return { command: 'nonce', hostname, userid, boottime };
}

export function serializeNonceRequest(req: NonceRequest): JsonObject {
  return { command: 'nonce', hostname: req.hostname, userid: req.userid, boottime: req.boottime };
}

export function parseNonceResponse(obj: JsonObject): NonceResponse {
  return {
    nonce: hexMember(obj, 'nonce'),
    pcrselect: hexMember(obj, 'pcrselect'),
    biosentry: integerMember(obj, 'biosentry', -1, 0xffffffff),
    imaentry: integerMember(obj, 'imaentry', 0, 0xffffffff),
  };
}

export function serializeNonceResponse(res: NonceResponse): JsonObject {
  return {
    response: 'nonce',
    nonce: toHex(res.nonce),
    pcrselect: toHex(res.pcrselect),
    biosentry: String(res.biosentry),
    imaentry: String(res.imaentry),
  };
}
