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

/** Check the "YYYY-MM-DD HH:MM:SS" form and that each field is in range (second 60 allowed for leap seconds). */
export function isBoottime(text: string): boolean {
  const m = BOOTTIME.exec(text);
  if (m === null) return false;
  const [month, day, hour, minute, second] = m.slice(2).map(Number);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 60;
}

export function parseNonceRequest(obj: JsonObject): NonceRequest {
  const hostname = hostnameMember(obj);
  const userid = textMember(obj, 'userid');
  const boottime = stringMember(obj, 'boottime');
  if (!isBoottime(boottime)) {
    throw new AcsError(ACS_ERROR.BAD_VALUE, 'member "boottime" must be "YYYY-MM-DD HH:MM:SS"');
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
