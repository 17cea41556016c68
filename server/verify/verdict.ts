/**
 * The verification core's answer: every check with its result, the refusal
 * (the first failed check that refuses the quote) as a domain reason rather
 * than a wire code, what an accepted quote establishes, and the diagnosis
 * naming suspect PCRs, firmware events and IMA entries.
 */
import type { PcrBankName, PcrBanks, PcrDeparture } from '../../shared/tpm/pcr-banks.js';
import type { ImaReplayRule, TemplateHashCheck } from '../../shared/eventlog/ima/replay.js';

export type CheckName =
  | 'signature' | 'nonce' | 'pcr-selection' | 'boot-counters' | 'firmware-replay' | 'ima-replay'
  | 'template-hashes' | 'ima-signatures' | 'ima-policy' | 'whitelist' | 'previous-pcrs';

export type CheckResult = 'pass' | 'fail' | 'warn' | 'n/a';

export interface Check {
  name: CheckName;
  result: CheckResult;
  detail: string;
}

/**
 * Why a quote is refused, in the order checks run. server/quote.ts maps
 * each to its IBM ACS wire code in one table.
 */
export type RefusalReason =
  | 'signature'
  | 'nonce-missing' | 'nonce-value' | 'nonce-used' | 'nonce-expired'
  | 'not-a-quote' | 'pcr-selection' | 'bank-unsupported'
  | 'stale-boot' | 'tpm-reset'
  | 'boot-position-unknown' | 'ima-gap' | 'firmware-log-missing' | 'no-previous-pcrs'
  | 'digest-mismatch';

export interface Refusal {
  reason: RefusalReason;
  message: string;
}

/** What an accepted quote establishes. */
export interface Acceptance {
  /** The PCR values that reproduce the quote's digest. */
  pcrs: PcrBanks;
  /** IMA events received but already accounted for (another attestation got there first). */
  imaSkipped: number;
  /** IMA events the quote covers; later ones are asked for again next time. */
  imaAccepted: number;
  /** Next IMA index and PCR 10 value(s) after the accepted events. */
  imaNext: number;
  imaPcr: { sha256: string | null; sha1: string | null };
  imaRule: ImaReplayRule;
  /** Template-hash verdict of each accepted IMA event, in order. */
  templateChecks: TemplateHashCheck[];
  /** First verified quote after enrollment: its PCRs become the white list. */
  setsWhitelist: boolean;
  /** Firmware PCRs off the white list (pcrinvalid) and changed since the previous attestation (pcrschanged). */
  offWhitelist: PcrDeparture[];
  changed: PcrDeparture[];
}

export interface SuspectPcr {
  bank: PcrBankName;
  pcr: number;
  reason: string;
  expected?: string;
  replayed?: string;
}

export interface NamedEvent {
  entrynum: number;
  reason: string;
}

export interface Diagnosis {
  /** One sentence. */
  summary: string;
  pcrs: SuspectPcr[];
  firmwareEvents: NamedEvent[];
  imaEntries: NamedEvent[];
}

export interface Verdict {
  checks: Check[];
  refusal: Refusal | null;
  /** Set exactly when refusal is null. */
  acceptance: Acceptance | null;
  diagnosis: Diagnosis;
  /** Firmware PCRs whose log the diagnosis suspects, for naming their events against the last accepted boot. */
  suspectFirmwarePcrs: number[];
  /** A refused quote's PCRs as its logs replay (the whole IMA log for PCR 10); null when not replayed or accepted. */
  replayedPcrs: PcrBanks | null;
}
