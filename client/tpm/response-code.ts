/**
 * TPM_RC decoding, TPM 2.0 Part 2 §6.6. A response code is either format 0
 * (bit 7 clear: a plain error or warning, RC.VER1 = 0x100 and RC.WARN =
 * 0x900 bases) or format 1 (bit 7 set: the error number in bits 0-5 plus a
 * parameter, handle or session number saying which input was wrong).
 */

/** TPM_RC bases and format bits, Part 2 §6.6.2. */
const RC = {
  VER1: 0x100,
  FMT1: 0x080,
  WARN: 0x900,
  /** Format 1: the number in bits 8-11 is a parameter's (else a handle's or session's). */
  P: 0x040,
  /** Format 1 without P: the number is a session's. */
  S: 0x800,
  VENDOR: 0x400,
} as const;

/** Format-0 errors, offset from RC.VER1 (Part 2 §6.6.3). */
const FMT0: Record<number, string> = {
  0x000: 'TPM_RC_INITIALIZE',
  0x001: 'TPM_RC_FAILURE',
  0x003: 'TPM_RC_SEQUENCE',
  0x00b: 'TPM_RC_PRIVATE',
  0x019: 'TPM_RC_HMAC',
  0x020: 'TPM_RC_DISABLED',
  0x021: 'TPM_RC_EXCLUSIVE',
  0x024: 'TPM_RC_AUTH_TYPE',
  0x025: 'TPM_RC_AUTH_MISSING',
  0x026: 'TPM_RC_POLICY',
  0x027: 'TPM_RC_PCR',
  0x028: 'TPM_RC_PCR_CHANGED',
  0x02d: 'TPM_RC_UPGRADE',
  0x02e: 'TPM_RC_TOO_MANY_CONTEXTS',
  0x02f: 'TPM_RC_AUTH_UNAVAILABLE',
  0x030: 'TPM_RC_REBOOT',
  0x031: 'TPM_RC_UNBALANCED',
  0x042: 'TPM_RC_COMMAND_SIZE',
  0x043: 'TPM_RC_COMMAND_CODE',
  0x044: 'TPM_RC_AUTHSIZE',
  0x045: 'TPM_RC_AUTH_CONTEXT',
  0x046: 'TPM_RC_NV_RANGE',
  0x047: 'TPM_RC_NV_SIZE',
  0x048: 'TPM_RC_NV_LOCKED',
  0x049: 'TPM_RC_NV_AUTHORIZATION',
  0x04a: 'TPM_RC_NV_UNINITIALIZED',
  0x04b: 'TPM_RC_NV_SPACE',
  0x04c: 'TPM_RC_NV_DEFINED',
  0x050: 'TPM_RC_BAD_CONTEXT',
  0x051: 'TPM_RC_CPHASH',
  0x052: 'TPM_RC_PARENT',
  0x053: 'TPM_RC_NEEDS_TEST',
  0x054: 'TPM_RC_NO_RESULT',
  0x055: 'TPM_RC_SENSITIVE',
};

/** Format-1 errors, offset from RC.FMT1 (Part 2 §6.6.3). */
const FMT1: Record<number, string> = {
  0x001: 'TPM_RC_ASYMMETRIC',
  0x002: 'TPM_RC_ATTRIBUTES',
  0x003: 'TPM_RC_HASH',
  0x004: 'TPM_RC_VALUE',
  0x005: 'TPM_RC_HIERARCHY',
  0x007: 'TPM_RC_KEY_SIZE',
  0x008: 'TPM_RC_MGF',
  0x009: 'TPM_RC_MODE',
  0x00a: 'TPM_RC_TYPE',
  0x00b: 'TPM_RC_HANDLE',
  0x00c: 'TPM_RC_KDF',
  0x00d: 'TPM_RC_RANGE',
  0x00e: 'TPM_RC_AUTH_FAIL',
  0x00f: 'TPM_RC_NONCE',
  0x010: 'TPM_RC_PP',
  0x012: 'TPM_RC_SCHEME',
  0x015: 'TPM_RC_SIZE',
  0x016: 'TPM_RC_SYMMETRIC',
  0x017: 'TPM_RC_TAG',
  0x018: 'TPM_RC_SELECTOR',
  0x01a: 'TPM_RC_INSUFFICIENT',
  0x01b: 'TPM_RC_SIGNATURE',
  0x01c: 'TPM_RC_KEY',
  0x01d: 'TPM_RC_POLICY_FAIL',
  0x01f: 'TPM_RC_INTEGRITY',
  0x020: 'TPM_RC_TICKET',
  0x021: 'TPM_RC_RESERVED_BITS',
  0x022: 'TPM_RC_BAD_AUTH',
  0x023: 'TPM_RC_EXPIRED',
  0x024: 'TPM_RC_POLICY_CC',
  0x025: 'TPM_RC_BINDING',
  0x026: 'TPM_RC_CURVE',
  0x027: 'TPM_RC_ECC_POINT',
};

/** Warnings, offset from RC.WARN (Part 2 §6.6.3). */
const WARN: Record<number, string> = {
  0x001: 'TPM_RC_CONTEXT_GAP',
  0x002: 'TPM_RC_OBJECT_MEMORY',
  0x003: 'TPM_RC_SESSION_MEMORY',
  0x004: 'TPM_RC_MEMORY',
  0x005: 'TPM_RC_SESSION_HANDLES',
  0x006: 'TPM_RC_OBJECT_HANDLES',
  0x007: 'TPM_RC_LOCALITY',
  0x008: 'TPM_RC_YIELDED',
  0x009: 'TPM_RC_CANCELED',
  0x00a: 'TPM_RC_TESTING',
  0x020: 'TPM_RC_NV_RATE',
  0x021: 'TPM_RC_LOCKOUT',
  0x022: 'TPM_RC_RETRY',
  0x023: 'TPM_RC_NV_UNAVAILABLE',
  0x07f: 'TPM_RC_NOT_USED',
};
for (let i = 0; i <= 6; i++) {
  WARN[0x010 + i] = `TPM_RC_REFERENCE_H${i}`;
  WARN[0x018 + i] = `TPM_RC_REFERENCE_S${i}`;
}

export interface DecodedRc {
  rc: number;
  /** e.g. TPM_RC_HANDLE; TPM_RC_UNKNOWN_0x... when the number is not defined. */
  name: string;
  /** The code with the parameter/handle/session number removed, e.g. 0x08b. */
  base: number;
  warning: boolean;
  /** Which command input the format-1 error refers to, 1-based. */
  parameter?: number;
  handle?: number;
  session?: number;
}

export function decodeRc(rc: number): DecodedRc {
  rc >>>= 0;
  if (rc & RC.FMT1) {
    const base = RC.FMT1 + (rc & 0x3f);
    const out: DecodedRc = { rc, base, name: FMT1[rc & 0x3f] ?? unknownName(base), warning: false };
    const n = (rc >>> 8) & 0x7;
    if (rc & RC.P) out.parameter = (rc >>> 8) & 0xf;
    else if (rc & RC.S) out.session = n;
    else if (n !== 0) out.handle = n;
    return out;
  }
  if (!(rc & RC.VER1)) {
    return { rc, base: rc, name: rc === 0 ? 'TPM_RC_SUCCESS' : `TPM1.2 error 0x${hex(rc)}`, warning: false };
  }
  if (rc & RC.VENDOR) return { rc, base: rc, name: `vendor error 0x${hex(rc)}`, warning: false };
  const warning = (rc & RC.WARN) === RC.WARN;
  const num = rc & 0x7f;
  const name = (warning ? WARN[num] : FMT0[num]) ?? unknownName(rc);
  return { rc, base: rc & 0xfff, name, warning };
}

/** "TPM_RC_HANDLE (handle 1)" */
export function describeRc(rc: number): string {
  const d = decodeRc(rc);
  const where =
    d.parameter !== undefined ? ` (parameter ${d.parameter})`
    : d.handle !== undefined ? ` (handle ${d.handle})`
    : d.session !== undefined ? ` (session ${d.session})`
    : '';
  return `${d.name}${where}`;
}

function hex(n: number): string {
  return n.toString(16).padStart(3, '0');
}

function unknownName(rc: number): string {
  return `TPM_RC_UNKNOWN_0x${hex(rc)}`;
}

/** A command the TPM answered with a non-zero response code. */
export class TpmError extends Error {
  override name = 'TpmError';
  readonly code: string;
  readonly decoded: DecodedRc;

  constructor(readonly rc: number, readonly command: string) {
    const decoded = decodeRc(rc);
    super(`${command} failed: ${describeRc(rc)} (rc 0x${(rc >>> 0).toString(16).padStart(8, '0')})`);
    this.decoded = decoded;
    this.code = decoded.name;
  }

  /** True when the code (without its parameter/handle/session number) is `name`. */
  is(name: string): boolean {
    return this.code === name;
  }
}
