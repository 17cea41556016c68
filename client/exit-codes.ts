/**
 * The client's exit codes: what cron, systemd and fleet scripts read. Each
 * failure the client can meet maps to exactly one code and one outcome word
 * (the `--json` result and the state dir's last-attestation record use it).
 */
import { ACS_ERROR, AcsError } from '../shared/protocol/errors.js';
import { HostnameError } from '../shared/protocol/hostname.js';
import { ExchangeError, ServerIdentityError } from './exchange.js';
import { TpmError } from './tpm/response-code.js';
import { TpmResponseError } from './tpm/tpm.js';
import { TpmTransportError } from './tpm/transport-error.js';

export const EXIT = {
  ATTESTED: 0,
  REFUSED: 1,
  USAGE: 2,
  TPM: 3,
  UNREACHABLE: 4,
  LOCKED: 5,
  NOT_ENROLLED: 6,
} as const;

export type Outcome = 'attested' | 'refused' | 'usage-error' | 'tpm-error' | 'unreachable' | 'locked' | 'not-enrolled';

const OUTCOMES: Record<number, Outcome> = {
  [EXIT.ATTESTED]: 'attested',
  [EXIT.REFUSED]: 'refused',
  [EXIT.USAGE]: 'usage-error',
  [EXIT.TPM]: 'tpm-error',
  [EXIT.UNREACHABLE]: 'unreachable',
  [EXIT.LOCKED]: 'locked',
  [EXIT.NOT_ENROLLED]: 'not-enrolled',
};

/** The exit-code table as `--help` and the README print it. */
export const EXIT_CODES_HELP = `Exit codes:
  0  attested (enroll: enrolled; status: enrolled)
  1  the server refused the attestation (evidence judged bad) or the enrollment
  2  usage or configuration error (options, client.conf, unreadable measurement logs)
  3  TPM unavailable or TPM error
  4  server unreachable or busy after the retries
  5  another run holds the lock on the state directory
  6  not enrolled (run "acs-client enroll" once)`;

/** A bad option, a bad config file, or a host file the options point at that cannot be read. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** This host has no enrollment in its state directory. */
export class NotEnrolledError extends Error {
  override name = 'NotEnrolledError';
}

/** Another acs-client run holds the state directory's lock. */
export class LockHeldError extends Error {
  override name = 'LockHeldError';
  constructor(readonly lockFile: string, readonly holderPid: number) {
    super(`another acs-client run${holderPid ? ` (pid ${holderPid})` : ''} holds ${lockFile}`);
  }
}

/**
 * Failures worth another try: the server could not be reached, the
 * connection broke or timed out, the server is at its connection limit
 * (90000103), or its database is in trouble (8000004x). A refusal of the
 * evidence is never transient: the same evidence would be refused again.
 */
export function isTransient(err: unknown): boolean {
  // A server whose certificate is not trusted stays so: no retry.
  if (err instanceof ServerIdentityError) return false;
  if (err instanceof ExchangeError) return true;
  if (!(err instanceof AcsError)) return false;
  return err.code === ACS_ERROR.TOO_MANY_CONNECTIONS || (err.code & 0xfffffff0) >>> 0 === 0x80000040;
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof HostnameError) return EXIT.USAGE;
  if (err instanceof LockHeldError) return EXIT.LOCKED;
  if (err instanceof NotEnrolledError) return EXIT.NOT_ENROLLED;
  if (err instanceof AcsError && err.code === ACS_ERROR.NOT_ENROLLED) return EXIT.NOT_ENROLLED;
  if (err instanceof TpmTransportError || err instanceof TpmError || err instanceof TpmResponseError) return EXIT.TPM;
  if (isTransient(err) || err instanceof ServerIdentityError) return EXIT.UNREACHABLE;
  return EXIT.REFUSED;
}

export function outcomeFor(code: number): Outcome {
  return OUTCOMES[code] ?? 'refused';
}
