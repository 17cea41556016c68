/**
 * Enrollment messages (PROTOCOL.md "Enrollment"): `enrollrequest` carries the
 * EK certificate and the AK public area, answered with a MakeCredential
 * (TPM 2.0 Part 3 §12.6) blob; `enrollcert` returns the activated challenge,
 * answered with the AK certificate.
 */
import { ACS_ERROR, AcsError } from './errors.js';
import type { JsonObject } from './frame.js';
import { hexMember, hostnameMember, optionalHexMember, stringMember, toHex } from './fields.js';

export interface EnrollRequest {
  command: 'enrollrequest';
  hostname: string;
  /** TPM_PT_MANUFACTURER as up to 4 ASCII characters ("IBM "). */
  tpmvendor: string;
  /** EK certificate DER; IBM's client may append the NV index's 0xFF padding. */
  ekcert: Buffer;
  intermediatecert?: Buffer;
  /** Marshaled TPMT_PUBLIC of the AK, without a TPM2B size. */
  akpub: Buffer;
}

export interface EnrollResponse {
  /** TPM2B_ID_OBJECT, with its size. */
  credentialblob: Buffer;
  /** TPM2B_ENCRYPTED_SECRET, with its size. */
  secret: Buffer;
}

export interface EnrollCertRequest {
  command: 'enrollcert';
  hostname: string;
  /** The secret TPM2_ActivateCredential returned. */
  challenge: Buffer;
}

export interface EnrollCertResponse {
  /** PEM text of the AK certificate. */
  akcert: string;
}

const TPM_VENDOR = /^[\x20-\x7e]{1,4}$/;
const MAX_PEM_LENGTH = 64 * 1024;

export function parseEnrollRequest(obj: JsonObject): EnrollRequest {
  const hostname = hostnameMember(obj);
  const tpmvendor = stringMember(obj, 'tpmvendor');
  if (!TPM_VENDOR.test(tpmvendor)) {
    throw new AcsError(ACS_ERROR.BAD_VALUE, 'member "tpmvendor" must be 1 to 4 printable ASCII characters');
  }
  const ekcert = hexMember(obj, 'ekcert');
  const intermediatecert = optionalHexMember(obj, 'intermediatecert');
  const akpub = hexMember(obj, 'akpub');
  return intermediatecert === undefined
    ? { command: 'enrollrequest', hostname, tpmvendor, ekcert, akpub }
    : { command: 'enrollrequest', hostname, tpmvendor, ekcert, intermediatecert, akpub };
}

export function serializeEnrollRequest(req: EnrollRequest): JsonObject {
  const out: JsonObject = {
    command: 'enrollrequest',
    hostname: req.hostname,
    tpmvendor: req.tpmvendor,
    ekcert: toHex(req.ekcert),
  };
  if (req.intermediatecert !== undefined) out.intermediatecert = toHex(req.intermediatecert);
  out.akpub = toHex(req.akpub);
  return out;
}

export function parseEnrollResponse(obj: JsonObject): EnrollResponse {
  return { credentialblob: hexMember(obj, 'credentialblob'), secret: hexMember(obj, 'secret') };
}

export function serializeEnrollResponse(res: EnrollResponse): JsonObject {
  return { response: 'enrollrequest', credentialblob: toHex(res.credentialblob), secret: toHex(res.secret) };
}

export function parseEnrollCertRequest(obj: JsonObject): EnrollCertRequest {
  return { command: 'enrollcert', hostname: hostnameMember(obj), challenge: hexMember(obj, 'challenge') };
}

export function serializeEnrollCertRequest(req: EnrollCertRequest): JsonObject {
  return { command: 'enrollcert', hostname: req.hostname, challenge: toHex(req.challenge) };
}

export function parseEnrollCertResponse(obj: JsonObject): EnrollCertResponse {
  const akcert = stringMember(obj, 'akcert');
  if (akcert.length > MAX_PEM_LENGTH || !akcert.includes('-----BEGIN CERTIFICATE-----')) {
    throw new AcsError(ACS_ERROR.BAD_VALUE, 'member "akcert" is not a PEM certificate');
  }
  return { akcert };
}

export function serializeEnrollCertResponse(res: EnrollCertResponse): JsonObject {
  return { response: 'enrollcert', akcert: res.akcert };
}
