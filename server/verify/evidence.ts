/**
 * The evidence a quote request carries, parsed at the protocol edge
 * (server/firmware-evidence.ts, server/ima-evidence.ts) into the values the
 * verification core judges.
 */
import type { FirmwareLog } from '../../shared/eventlog/firmware/event.js';
import type { FirmwareReplay } from '../../shared/eventlog/firmware/replay.js';
import type { ImaEvent } from '../../shared/eventlog/ima/event.js';
import type { HashAlg } from '../../shared/tpm/constants.js';
import type { TpmAttest } from '../../shared/tpm/attest.js';

/** A firmware log received as IBM wire events, parsed and replayed (TCG PC Client PFP §10). */
export interface CheckedFirmwareLog {
  /** The events exactly as received, for bioslog.bios_entry. */
  wire: Buffer[];
  log: FirmwareLog;
  replay: FirmwareReplay;
}

/** One received IMA event with its IBM imalog verdicts. */
export interface CheckedImaEvent {
  event: ImaEvent;
  index: number;
  pcrIndex: number;
  wire: Buffer;
  templateName: string;
  filename: string;
  filehash: string | null;
  templateHashAlg: HashAlg;
  /** The template data does not parse (a template-hash mismatch is found by the replay). */
  badevent: boolean;
  nosig: boolean;
  nokey: boolean;
  badsig: boolean;
}

export interface CheckedImaEvents {
  events: CheckedImaEvent[];
}

/** A quote as received: its TPMS_ATTEST and the logs sent with it. */
export interface QuoteEvidence {
  attest: TpmAttest;
  /** The signature verified with the enrolled AK (verify/signature.ts). */
  signatureValid: boolean;
  firmware: CheckedFirmwareLog | null;
  ima: CheckedImaEvents;
  /** Absolute index of the first IMA event sent; undefined when none was sent. */
  imaentry: number | undefined;
}
