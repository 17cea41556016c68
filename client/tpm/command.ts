/**
 * TPM 2.0 command and response framing, TPM 2.0 Part 1 §18 and Part 3 §4:
 *
 *   command:  tag | commandSize | commandCode | handles | [authSize | auth*] | parameters
 *   response: tag | responseSize | responseCode | handles | [parameterSize] | parameters | [auth*]
 *
 * The authorization area is present exactly when the tag is TPM_ST_SESSIONS.
 */
import { BufferReader, BufferWriter, MarshalError } from '../../shared/tpm/buffer.js';
import { TPM_RH, TPM_ST } from '../../shared/tpm/constants.js';

/** TPM_CC values the client uses, Part 2 §6.5.2. */
export const TPM_CC = {
  EvictControl: 0x120,
  CreatePrimary: 0x131,
  Startup: 0x144,
  Shutdown: 0x145,
  ActivateCredential: 0x147,
  NV_Read: 0x14e,
  PolicySecret: 0x151,
  Create: 0x153,
  Load: 0x157,
  Quote: 0x158,
  FlushContext: 0x165,
  NV_ReadPublic: 0x169,
  PolicyOR: 0x171,
  ReadPublic: 0x173,
  StartAuthSession: 0x176,
  GetCapability: 0x17a,
  GetRandom: 0x17b,
  PCR_Read: 0x17e,
  PCR_Extend: 0x182,
  PolicyGetDigest: 0x189,
} as const;

const CC_NAMES = new Map<number, string>(Object.entries(TPM_CC).map(([k, v]) => [v, `TPM2_${k}`]));

export function commandName(cc: number): string {
  return CC_NAMES.get(cc) ?? `TPM_CC 0x${cc.toString(16)}`;
}

/** TPMA_SESSION bits, Part 2 §8.4. */
export const TPMA_SESSION = {
  continueSession: 0x01,
} as const;

/** One TPMS_AUTH_COMMAND, Part 2 §10.13.2. */
export interface AuthCommand {
  handle: number;
  nonce: Buffer;
  attributes: number;
  hmac: Buffer;
}

/**
 * Password authorization (TPM_RS_PW), Part 1 §19.8.4: no nonce, the
 * authValue in the hmac field in the clear.
 */
export function passwordAuth(password: Buffer = Buffer.alloc(0)): AuthCommand {
  return { handle: TPM_RH.PW, nonce: Buffer.alloc(0), attributes: TPMA_SESSION.continueSession, hmac: password };
}

/**
 * A policy session used without an HMAC: unsalted and unbound, and the
 * policies we satisfy never include TPM2_PolicyAuthValue, so the hmac is
 * empty (Part 1 §19.6.13). continueSession stays set so that the caller's
 * FlushContext is the single place the session ends.
 */
export function policyAuth(sessionHandle: number): AuthCommand {
  return { handle: sessionHandle, nonce: Buffer.alloc(0), attributes: TPMA_SESSION.continueSession, hmac: Buffer.alloc(0) };
}

export interface CommandSpec {
  cc: number;
  handles?: readonly number[];
  auth?: readonly AuthCommand[];
  params?: Buffer;
}

export function marshalCommand(spec: CommandSpec): Buffer {
  const auth = spec.auth ?? [];
  const w = new BufferWriter(64 + (spec.params?.length ?? 0));
  w.u16(auth.length > 0 ? TPM_ST.SESSIONS : TPM_ST.NO_SESSIONS).u32(0).u32(spec.cc);
  for (const h of spec.handles ?? []) w.u32(h);
  if (auth.length > 0) {
    const a = new BufferWriter();
    for (const s of auth) a.u32(s.handle).tpm2b(s.nonce).u8(s.attributes).tpm2b(s.hmac);
    const area = a.finish();
    w.u32(area.length).bytes(area);
  }
  if (spec.params) w.bytes(spec.params);
  return w.patchU32(2, w.length).finish();
}

/** One TPMS_AUTH_RESPONSE, Part 2 §10.13.3. */
export interface AuthResponse {
  nonce: Buffer;
  attributes: number;
  hmac: Buffer;
}

export interface Response {
  tag: number;
  rc: number;
  handles: number[];
  params: Buffer;
  auth: AuthResponse[];
}

/** tag, responseSize, responseCode: what transports read first to learn a response's size. */
export const HEADER_SIZE = 10;

/** Largest response accepted; real TPMs answer with at most a few KiB (TPM_PT_MAX_RESPONSE_SIZE). */
export const MAX_RESPONSE_SIZE = 64 * 1024;

/**
 * Parses a response. `handleCount` is how many handles the command returns
 * on success (Part 3 lists them per command); errors carry none.
 */
export function unmarshalResponse(buf: Buffer, handleCount: number): Response {
  const r = new BufferReader(buf);
  const tag = r.u16('response tag');
  const size = r.u32('responseSize');
  if (size !== buf.length) throw new MarshalError(`responseSize ${size} but ${buf.length} bytes received`);
  const rc = r.u32('responseCode');
  if (rc !== 0) {
    // An error response is the header alone (Part 1 §18.4); anything after it is ignored.
    return { tag, rc, handles: [], params: Buffer.alloc(0), auth: [] };
  }
  if (tag !== TPM_ST.SESSIONS && tag !== TPM_ST.NO_SESSIONS) {
    throw new MarshalError(`response tag 0x${tag.toString(16)}`);
  }
  const handles: number[] = [];
  for (let i = 0; i < handleCount; i++) handles.push(r.u32('response handle'));
  if (tag === TPM_ST.NO_SESSIONS) {
    return { tag, rc, handles, params: r.bytes(r.remaining, 'parameters'), auth: [] };
  }
  const paramSize = r.u32('parameterSize');
  const params = r.bytes(paramSize, 'parameters');
  const auth: AuthResponse[] = [];
  while (r.remaining > 0) {
    auth.push({ nonce: r.tpm2b('nonceTPM'), attributes: r.u8('sessionAttributes'), hmac: r.tpm2b('hmac') });
  }
  return { tag, rc, handles, params, auth };
}
