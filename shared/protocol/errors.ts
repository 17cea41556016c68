/**
 * ACS error codes and the error response. IBM ACS (commonerror.h) sends a
 * refused request `{"error":"XXXXXXXX"}`: the 32-bit code as 8 lowercase hex
 * digits. 0x9xxxxxxx codes blame the client, 0x8xxxxxxx the server. Our
 * server adds `"message"`, which IBM clients ignore.
 *
 * The codes IBM defines keep IBM's values; the codes we add sit at 0x900001xx,
 * above the highest value IBM uses (0x9000002f), so they never collide.
 */

export const ACS_ERROR = {
  /** Frame length is over the receiver's limit. */
  PACKET_LENGTH: 0x90000001,
  /** JSON does not parse (IBM's server answers BAD_JSON instead). */
  JSON_COMMAND: 0x90000004,
  /** A required member is missing. */
  JSON_KEY: 0x90000005,
  /** A hex member is malformed (odd length, non-hex character, empty). */
  HEXASCII: 0x90000006,
  /** A certificate is invalid (EK chain, AK certificate). */
  INVALID_CERT: 0x90000007,
  /** The enrollment challenge does not match. */
  MISMATCH_CERT: 0x90000008,
  /** Quote signature invalid (IBM also uses it for a wrong or reused nonce). */
  QUOTE_SIGNATURE: 0x90000010,
  /** PCR selection differs from the one issued. */
  PCR_SELECT: 0x90000014,
  /** Nonce in the quote does not match the one issued. */
  NONCE_VALUE: 0x9000001a,
  /** No nonce was issued for this host. */
  NONCE_MISSING: 0x9000001b,
  /** The nonce was already used. */
  NONCE_USED: 0x9000001c,
  /** Algorithm not supported. */
  BAD_ALGORITHM: 0x9000001e,
  /** Malformed structure (TPMT_PUBLIC, TPMS_ATTEST, TPMT_SIGNATURE, event). */
  BAD_BLOB: 0x9000001f,
  /** Event logs do not reproduce the quoted PCR digest. */
  EVENT: 0x90000020,
  /** enrollcert without a pending enrollrequest. */
  NO_ENROLL_REQ: 0x90000021,
  /** Hostname already enrolled. */
  ENROLLED: 0x90000022,
  /** Hostname not enrolled. */
  NOT_ENROLLED: 0x90000023,
  /** Attestation key lacks the required attributes. */
  INVALID_KEY: 0x90000024,
  /** Unknown command. */
  UNKNOWN_CMD: 0x90000026,
  /** Malformed JSON, not a JSON object, or no command member. */
  BAD_JSON: 0x90000027,

  /** Nonce expired before the quote arrived (ours). */
  NONCE_EXPIRED: 0x90000101,
  /** The frame did not arrive within the read timeout (ours). */
  FRAME_TIMEOUT: 0x90000102,
  /** The server is at its connection limit; retry later (ours). */
  TOO_MANY_CONNECTIONS: 0x90000103,
  /** More events than the server accepts in one quote (ours). */
  TOO_MANY_EVENTS: 0x90000104,
  /** One event is larger than the server accepts (ours). */
  EVENT_TOO_LARGE: 0x90000105,
  /** event / imaevent members are not numbered contiguously (ours). */
  EVENT_SEQUENCE: 0x90000106,
  /** A member is not a string, or its value has the wrong form (ours). */
  BAD_VALUE: 0x90000107,
  /** The enrollment challenge expired (ours). */
  CHALLENGE_EXPIRED: 0x90000108,
  /** The hostname is not a DNS host name (ours; see hostname.ts). */
  BAD_HOSTNAME: 0x90000109,

  /** Server could not construct a response (internal failure; details are logged, not sent). */
  NO_RESPONSE: 0x80000031,
  /** Database unreachable. */
  SQL_CONNECT: 0x80000040,
  /** Database query failed. */
  SQL_QUERY: 0x80000041,
  /** Error in an SQL statement. */
  SQL_ERROR: 0x80000042,
} as const;

export type AcsErrorName = keyof typeof ACS_ERROR;

const DESCRIPTIONS: Record<number, string> = {
  [ACS_ERROR.PACKET_LENGTH]: 'frame length over the limit',
  [ACS_ERROR.JSON_COMMAND]: 'JSON does not parse',
  [ACS_ERROR.JSON_KEY]: 'a required member is missing',
  [ACS_ERROR.HEXASCII]: 'malformed hex',
  [ACS_ERROR.INVALID_CERT]: 'certificate invalid',
  [ACS_ERROR.MISMATCH_CERT]: 'enrollment challenge does not match',
  [ACS_ERROR.QUOTE_SIGNATURE]: 'quote signature invalid',
  [ACS_ERROR.PCR_SELECT]: 'PCR selection differs from the one issued',
  [ACS_ERROR.NONCE_VALUE]: 'nonce does not match the one issued',
  [ACS_ERROR.NONCE_MISSING]: 'no nonce was issued for this host',
  [ACS_ERROR.NONCE_USED]: 'nonce already used',
  [ACS_ERROR.BAD_ALGORITHM]: 'algorithm not supported',
  [ACS_ERROR.BAD_BLOB]: 'malformed TPM structure or event',
  [ACS_ERROR.EVENT]: 'event logs do not reproduce the quoted PCR digest',
  [ACS_ERROR.NO_ENROLL_REQ]: 'enrollcert without a pending enrollrequest',
  [ACS_ERROR.ENROLLED]: 'hostname already enrolled',
  [ACS_ERROR.NOT_ENROLLED]: 'hostname not enrolled',
  [ACS_ERROR.INVALID_KEY]: 'attestation key does not have the required attributes',
  [ACS_ERROR.UNKNOWN_CMD]: 'unknown command',
  [ACS_ERROR.BAD_JSON]: 'malformed JSON or no command member',
  [ACS_ERROR.NONCE_EXPIRED]: 'nonce expired',
  [ACS_ERROR.FRAME_TIMEOUT]: 'request not received within the timeout',
  [ACS_ERROR.TOO_MANY_CONNECTIONS]: 'server busy: too many connections',
  [ACS_ERROR.TOO_MANY_EVENTS]: 'too many events in one request',
  [ACS_ERROR.EVENT_TOO_LARGE]: 'event larger than the server accepts',
  [ACS_ERROR.EVENT_SEQUENCE]: 'event members are not numbered contiguously',
  [ACS_ERROR.BAD_VALUE]: 'member value has the wrong type or form',
  [ACS_ERROR.CHALLENGE_EXPIRED]: 'enrollment challenge expired',
  [ACS_ERROR.BAD_HOSTNAME]: 'hostname is not a DNS host name',
  [ACS_ERROR.NO_RESPONSE]: 'server internal error',
  [ACS_ERROR.SQL_CONNECT]: 'database unreachable',
  [ACS_ERROR.SQL_QUERY]: 'database query failed',
  [ACS_ERROR.SQL_ERROR]: 'database statement failed',
};

/** 8 lowercase hex digits, as IBM's server writes them. */
export function formatErrorCode(code: number): string {
  return (code >>> 0).toString(16).padStart(8, '0');
}

/** A sentence for users: the known meaning, or which side is at fault for unknown codes. */
export function describeError(code: number): string {
  const known = DESCRIPTIONS[code >>> 0];
  if (known !== undefined) return known;
  const hex = formatErrorCode(code);
  if (code >>> 28 === 0x9) return `request refused (client error ${hex})`;
  if (code >>> 28 === 0x8) return `server error ${hex}`;
  return `error ${hex}`;
}

/** An error that travels on the wire as an ACS error code. */
export class AcsError extends Error {
  override name = 'AcsError';
  readonly code: number;

  constructor(code: number, message?: string, options?: { cause?: unknown }) {
    super(message ?? describeError(code), options);
    this.code = code >>> 0;
  }

  /** True when the code says the client's request was at fault. */
  get clientFault(): boolean {
    return this.code >>> 28 === 0x9;
  }
}

export type ErrorResponse = {
  error: string;
  message?: string;
};

export function errorResponse(code: number, message?: string): ErrorResponse {
  return message === undefined
    ? { error: formatErrorCode(code) }
    : { error: formatErrorCode(code), message };
}

const ERROR_CODE = /^[0-9a-fA-F]{8}$/;

/**
 * The error an `{"error":...}` response carries, or undefined when the
 * response is not an error. A malformed error member is itself BAD_VALUE.
 */
export function errorFromResponse(obj: Record<string, unknown>): AcsError | undefined {
  if (!Object.hasOwn(obj, 'error')) return undefined;
  const raw = obj.error;
  if (typeof raw !== 'string' || !ERROR_CODE.test(raw)) {
    return new AcsError(ACS_ERROR.BAD_VALUE, 'error response with a malformed code');
  }
  const code = parseInt(raw, 16);
  const meaning = describeError(code);
  const detail = typeof obj.message === 'string' ? obj.message.slice(0, 500) : '';
  // The server's sentence often says the same as the code's meaning; say it once.
  const message = detail.length === 0 || detail.toLowerCase().includes(meaning.toLowerCase()) ? detail || meaning : `${meaning}: ${detail}`;
  return new AcsError(code, message);
}
