/**
 * The store: every read and write the server and the web UI make, behind one
 * interface with a MySQL/MariaDB and a SQLite implementation. Column names
 * follow IBM ACS's dbinit.sql so its queries and reports keep working; the
 * extra columns are ours. All SQL lives under db/.
 */

import type { PcrBanks } from '../shared/tpm/pcr-banks.js';
import type { NewOutboxRow } from './alert-outbox.js';
import type { QuoteState } from './quote-state.js';

/** 24 PCRs per bank as lowercase hex; null where not known (shared/tpm/pcr-banks.ts). */
export type { PcrBanks };

export interface MachineRow {
  id: number;
  hostname: string;
  tpmvendor: string;
  /** Pending enrollment challenge (hex), cleared once used. */
  challenge: string | null;
  challengeExpires: Date | null;
  ekcertificatepem: string;
  ekcertificatetext: string;
  /** SHA-256 of the EK's SubjectPublicKeyInfo DER, hex. */
  ekFingerprint: string;
  /** 'rsa2048', 'ecc-p256', 'ecc-p384', 'rsa3072' ... */
  ekAlg: string;
  /** AK TPMT_PUBLIC, hex, as sent in enrollrequest. */
  attestpub: string;
  /** AK name (nameAlg || H(TPMT_PUBLIC)), hex. */
  akName: string;
  /** 'rsa' or 'ecc'. */
  akAlg: string;
  /**
   * The AK of an enrollrequest awaiting its enrollcert (columns
   * pending_attestpub, pending_ak_name, pending_ak_alg). It replaces
   * attestpub/akName/akAlg only when the challenge is answered, so replaying
   * an enrolled machine's enrollrequest cannot disturb its attestations.
   */
  pendingAttestpub: string | null;
  pendingAkName: string | null;
  pendingAkAlg: string | null;
  /**
   * The EK certificate (PEM) and TPM vendor of a pending re-enrollment with
   * another EK (`--allow-reenroll`): the EK columns change only once the
   * challenge proves that EK's TPM holds the new AK.
   */
  pendingEkcertificatepem: string | null;
  pendingTpmvendor: string | null;
  /** IMA entries of this boot an assigned runtime policy did not allow; null when no policy judged it. */
  policyViolations: number | null;
  akcertificatepem: string | null;
  akcertificatetext: string | null;
  /** Set when enrollcert completes; null while enrollment is pending. */
  enrolled: Date | null;
  /** Host's boot time as it reported it ("YYYY-MM-DD HH:MM:SS"), untrusted. */
  boottime: string | null;
  /** Next IMA event index expected this boot. */
  imaevents: number | null;
  /** PCR 10 (SHA-256) after imaevents events, hex. */
  imapcr: string | null;
  /** IMA PCR 10 in the SHA-1 bank after imaevents events, for SHA-1-only TPMs. */
  imapcrSha1: string | null;
  /** PCR white list from the first valid quote after enrollment. */
  whitelist: PcrBanks | null;
  /** TPMS_CLOCK_INFO of the last verified quote, for new-boot detection. */
  resetCount: number | null;
  restartCount: number | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A machine row without its certificates: everything enrollment and attestation decide on, a fraction of the bytes. */
export type MachineWithoutCerts = Omit<MachineRow, 'ekcertificatepem' | 'ekcertificatetext' | 'akcertificatepem' | 'akcertificatetext'>;
/** An accepted attestation's id and the PCR values it verified. */
export type VerifiedPcrs = Pick<AttestationRow, 'id' | 'pcrs'>;
/** What judging a quote reads of the attestation its nonce opened: the row without its PCR values and results. */
export type IssuedNonce = Pick<AttestationRow, 'id' | 'boottime' | 'nonceExpires' | 'pcrselect' | 'biosentry' | 'imaentry' | 'newBoot' | 'quoted'>;
export type NewMachine = Omit<MachineRow, 'id' | 'createdAt' | 'updatedAt' | 'policyViolations'>;
export type MachinePatch = Partial<Omit<MachineRow, 'id' | 'hostname' | 'createdAt' | 'updatedAt'>>;

export interface AttestationRow {
  id: number;
  machineId: number;
  hostname: string;
  userid: string;
  boottime: string | null;
  /** When the nonce was issued. */
  timestamp: Date;
  nonce: string;
  nonceExpires: Date;
  pcrselect: string;
  /** What the nonce response asked for: 0 = full firmware log, -1 = none. */
  biosentry: number;
  imaentry: number;
  /** The server decided this attestation starts a new boot. */
  newBoot: boolean;
  /** The quote request JSON without its events; null until a quote arrives. */
  quote: string | null;
  /** When the quote arrived (the nonce is used from then on). */
  quoted: Date | null;
  pcrs: PcrBanks | null;
  pcrschanged: boolean | null;
  pcrinvalid: boolean | null;
  quoteverified: boolean | null;
  logverified: boolean | null;
  logentries: number | null;
  imaevents: number | null;
  imaver: boolean | null;
  imasigver: boolean | null;
  /** The IMA log did not parse or its template hashes did not match. */
  badimalog: boolean | null;
  resetCount: number | null;
  restartCount: number | null;
  /** Error code (8 hex digits) and reason when the quote was refused. */
  errorCode: string | null;
  errorMessage: string | null;
  /** The verdict's one-sentence diagnosis. */
  diagnosis: string | null;
  /** The verdict as JSON (db/report-verdict.ts); null for a pending nonce or a report stored before verdicts were kept. */
  verdict: string | null;
  /** IMA entries of this boot, up to this report, an assigned runtime policy did not allow; null when none judged it. */
  policyViolations: number | null;
}

export type NewAttestation = Pick<
  AttestationRow,
  'machineId' | 'hostname' | 'userid' | 'boottime' | 'timestamp' | 'nonce' | 'nonceExpires' | 'pcrselect' | 'biosentry' | 'imaentry' | 'newBoot'
>;
export type AttestationPatch = Partial<
  Pick<
    AttestationRow,
    | 'quote' | 'quoted' | 'pcrs' | 'pcrschanged' | 'pcrinvalid' | 'quoteverified' | 'logverified' | 'logentries'
    | 'imaevents' | 'imaver' | 'imasigver' | 'badimalog' | 'resetCount' | 'restartCount' | 'errorCode' | 'errorMessage' | 'newBoot'
    | 'diagnosis' | 'verdict' | 'policyViolations'
  >
>;

export interface BiosEventRow {
  machineId: number;
  attestationId: number;
  hostname: string;
  timestamp: Date;
  entrynum: number;
  /** The event as sent on the wire (IBM big-endian encoding), hex. */
  biosEntry: string;
  pcrindex: number;
  pcrsha1: string | null;
  pcrsha256: string | null;
  /** Event type name, e.g. EV_SEPARATOR. */
  eventtype: string;
  /** Printable event data. */
  event: string;
  /** Evidence of a refused quote: never part of the machine's accepted chain. */
  refused: boolean;
}

export interface ImaEventRow {
  machineId: number;
  attestationId: number;
  hostname: string;
  boottime: string | null;
  timestamp: Date;
  entrynum: number;
  /** The event as sent on the wire, hex. */
  imaEntry: string;
  filename: string;
  template: string;
  /** File digest as "alg:hex" when the template carries one. */
  filehash: string | null;
  badevent: boolean;
  nosig: boolean;
  nokey: boolean;
  badsig: boolean;
  /** Evidence of a refused quote: never part of the machine's accepted chain. */
  refused: boolean;
}

/** A firmware event of the accepted chain as the diagnosis compares it. */
export type AcceptedFirmwareEvent = Pick<BiosEventRow, 'entrynum' | 'pcrindex' | 'eventtype' | 'pcrsha1' | 'pcrsha256'>;

/** A request that is no host's evidence (security_events). */
export interface SecurityEventRow {
  timestamp: Date;
  /** e.g. forged_quote. */
  kind: string;
  hostname: string | null;
  detail: string;
}

/** What deciding a machine's state reads of its previous report (db/queries.ts reportState). */
export type ReportOutcome = Pick<
  AttestationRow,
  'id' | 'quoted' | 'errorCode' | 'pcrinvalid' | 'quoteverified' | 'logverified' | 'policyViolations' | 'boottime'
>;
/** The newest report with its PCRs: when it was accepted, it is also the last verified attestation. */
export type LastReport = ReportOutcome & Pick<AttestationRow, 'pcrs'>;

/** A machine as a nonce request reads it: enough to place the logs, and how many nonces it holds. */
export type EnrolledMachine = Pick<MachineRow, 'id' | 'hostname' | 'enrolled' | 'attestpub' | 'imaevents' | 'boottime'> & { pendingNonces: number };

export interface TransactionOptions {
  /**
   * The transaction's writes whose result is not needed (updates, event and
   * alert inserts) travel with its next statement or its COMMIT in one round
   * trip; their failures surface there. For transactions that catch no
   * error of a particular write.
   */
  deferWrites?: boolean;
}

/** Operations inside one transaction. Reads ending in ForUpdate lock the row. */
export interface StoreTx {
  /** What a quote is judged against, in one statement, the machine and the nonce's attestation locked (db/quote-state.ts). */
  quoteState(hostname: string, nonce: string): Promise<QuoteState | undefined>;
  machineForUpdate(hostname: string): Promise<MachineWithoutCerts | undefined>;
  /** Machines (enrolled or pending) whose EK has this fingerprint; needs an index on ek_fingerprint. */
  machinesByEkFingerprint(ekFingerprint: string): Promise<MachineRow[]>;
  insertMachine(m: NewMachine): Promise<number>;
  updateMachine(id: number, patch: MachinePatch): Promise<void>;
  deleteMachine(id: number): Promise<void>;

  insertAttestation(a: NewAttestation): Promise<number>;
  /** The attestation a nonce was issued for, locked. */
  attestationByNonceForUpdate(machineId: number, nonce: string): Promise<IssuedNonce | undefined>;
  /** The newest attestation of a machine whose quote has not arrived, locked. */
  pendingAttestationForUpdate(machineId: number): Promise<IssuedNonce | undefined>;
  /** The PCRs of the newest accepted attestation of a machine (quote verified, nothing refused), before id. */
  lastVerifiedAttestation(machineId: number, beforeId: number): Promise<VerifiedPcrs | undefined>;
  updateAttestation(id: number, patch: AttestationPatch): Promise<void>;
  /** The newest report (quote received, accepted or refused) of a machine before id. */
  lastReport(machineId: number, beforeId: number): Promise<LastReport | undefined>;

  insertBiosEvents(rows: BiosEventRow[]): Promise<void>;
  insertImaEvents(rows: ImaEventRow[]): Promise<void>;
  /** The events of `pcrs` in the newest accepted firmware log of a machine before an attestation. */
  acceptedFirmwareEvents(machineId: number, beforeId: number, pcrs: readonly number[]): Promise<AcceptedFirmwareEvent[]>;
  /** Deletes the evidence of all but the newest `keep` refused reports of a machine. */
  pruneRefusedEvidence(machineId: number, keep: number): Promise<void>;
  /** Inserts a security event and deletes all but the newest `keep`. */
  insertSecurityEvent(e: SecurityEventRow, keep: number): Promise<void>;

  /** Alerts to deliver once this transaction commits (db/alert-outbox.ts). */
  insertAlerts(rows: readonly NewOutboxRow[]): Promise<void>;
  policyBody(id: number): Promise<string | undefined>;
  /** Gives a newly enrolled hostname the default policies. */
  assignDefaultPolicies(hostname: string, now: Date): Promise<void>;
}

export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    message: string,
    /** 80000040 unreachable, 80000041 query failed, 80000042 transaction failed. */
    readonly code: 0x80000040 | 0x80000041 | 0x80000042,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A unique index refused a row (hostname, nonce): the caller may want to say so precisely. */
export class DuplicateKeyError extends StoreError {
  override name = 'DuplicateKeyError';
  constructor(
    message: string,
    /** The index that was violated, e.g. machines_hostname_uq or attestlog_nonce_uq. */
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(message, 0x80000041, options);
  }
}

export interface Store {
  readonly dialect: 'mysql' | 'sqlite';
  /** Runs fn in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>, options?: TransactionOptions): Promise<T>;
  getMachine(hostname: string): Promise<MachineRow | undefined>;
  /** The machine a nonce is issued for, unlocked, with its count of unanswered nonces. */
  enrolledMachine(hostname: string): Promise<EnrolledMachine | undefined>;
  /** The machine without its certificates, unlocked. */
  machineWithoutCerts(hostname: string): Promise<MachineWithoutCerts | undefined>;
  /** One INSERT on its own, atomic without a transaction around it. */
  insertAttestation(a: NewAttestation): Promise<number>;
  /** Deletes a machine's pending nonces older than its newest `keep` (an issued nonce retires the oldest). */
  retirePendingNonces(machineId: number, keep: number): Promise<void>;
  getAttestation(id: number): Promise<AttestationRow | undefined>;
  close(): Promise<void>;
}
