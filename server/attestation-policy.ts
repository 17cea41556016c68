/**
 * The quote the server asks for (PCR selection) and the inputs it judges
 * the answer with.
 */
import { TPM_ALG } from '../shared/tpm/constants.js';
import type { ImaKeyring } from '../shared/eventlog/ima/signature.js';
import { buildPcrSelection, marshalPcrSelection, type PcrSelection } from '../shared/tpm/pcr-selection.js';
import { FIRMWARE_PCRS, IMA_PCR } from '../shared/tpm/pcr-roles.js';
import type { VerifyPolicy } from './verify/state.js';

/**
 * What the server asks a TPM to quote and how it judges the answer.
 * IBM ACS asks for SHA-256 PCR 0-10 with an empty SHA-1 bank
 * (`00000002000b03ff0700000403000000`): the firmware PCRs and IMA's PCR
 * (shared/tpm/pcr-roles.ts).
 */
export interface AttestationPolicy extends VerifyPolicy {
  /** The selection every nonce response carries. */
  pcrSelection: PcrSelection[];
  /** Marshaled pcrSelection, hex, as sent and stored. */
  pcrselectHex: string;
  /** PCRs the firmware log replays and the white list compares. */
  firmwarePcrs: number[];
  /** Keys that verify ima-sig signatures (`--ima-keys`). */
  imaKeys: ImaKeyring;
}

export function defaultAttestationPolicy(imaKeys: ImaKeyring): AttestationPolicy {
  const pcrSelection = buildPcrSelection([
    [TPM_ALG.SHA256, [...FIRMWARE_PCRS, IMA_PCR]],
    [TPM_ALG.SHA1, []],
  ]);
  return {
    pcrSelection,
    pcrselectHex: marshalPcrSelection(pcrSelection).toString('hex'),
    firmwarePcrs: [...FIRMWARE_PCRS],
    imaPcr: IMA_PCR,
    imaKeys,
  };
}
