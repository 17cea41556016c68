/**
 * What the verification core knows of the host besides the quote: the
 * nonce the quote should carry, the machine's accepted state and the policy,
 * as plain values the orchestrator (server/quote.ts) read from the store.
 */
import type { ImaKeyring } from '../../shared/eventlog/ima/signature.js';
import type { PcrBanks } from '../../shared/tpm/pcr-banks.js';
import type { PcrSelection } from '../../shared/tpm/pcr-selection.js';
import type { CheckedImaEvent } from './evidence.js';

/** The nonce the quote's extraData names, as issued to this host. */
export interface IssuedNonceState {
  /** The nonce response asked for full logs (a new boot). */
  newBoot: boolean;
  /** Hex TPML_PCR_SELECTION the nonce response carried. */
  pcrselect: string;
  expires: Date;
  /** A quote already used this nonce. */
  used: boolean;
}

/** The nonce as found: issued to this host, or why not. */
export type NonceLookup =
  | { found: IssuedNonceState }
  /** No nonce of this host carries the quote's extraData; `pending` says whether any is outstanding. */
  | { found: null; pending: boolean };

/** The machine's accepted chain: only verified quotes of its enrolled AK ever change it. */
export interface AcceptedState {
  /** Next IMA index expected this boot; null when the boot position is unknown (after a TPM reset). */
  imaevents: number | null;
  /** PCR 10 after `imaevents` events, per bank, hex. */
  imapcr: { sha256: string | null; sha1: string | null };
  /** Set by the first verified quote after enrollment; null before. */
  whitelist: PcrBanks | null;
  /** TPMS_CLOCK_INFO of the newest verified quote. */
  resetCount: number | null;
  restartCount: number | null;
  /** PCRs of the newest accepted attestation before this one (they stand in for an unsent firmware log). */
  previous: PcrBanks | null;
  /**
   * Measured-boot reference values assigned to the machine: when set, the
   * firmware PCRs are compared with them instead of the white list, from the
   * first quote on.
   */
  reference?: { name: string; pcrs: PcrBanks } | null;
}

/** What the firmware PCRs are compared with, in words: "the white list" or "the reference values NAME". */
export function referenceLabel(state: Pick<AcceptedState, 'reference'>): string {
  return state.reference ? `the reference values ${state.reference.name}` : 'the white list';
}

/**
 * A rule over IMA entries beyond signatures (allow-lists, reference
 * values): the reason an entry is not allowed, or null when it is.
 */
export type ImaEntryRule = (entry: CheckedImaEvent) => string | null;

export interface VerifyPolicy {
  /** PCRs the firmware log replays and the white list compares. */
  firmwarePcrs: readonly number[];
  /** The PCR IMA extends. */
  imaPcr: number;
  /** Keys that verify ima-sig signatures. */
  imaKeys: ImaKeyring;
  /** Extra rules over accepted IMA entries; an entry a rule refuses is named in the diagnosis. */
  imaRules?: readonly ImaEntryRule[];
  /** The selection the server issues, compared when the quote's nonce is unknown. */
  pcrSelection: PcrSelection[];
}
