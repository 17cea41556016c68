/** TPM2_Quote, TPM 2.0 Part 3 §18.4. */
import { BufferReader, BufferWriter } from '../../../shared/tpm/buffer.js';
import { TPM_ALG } from '../../../shared/tpm/constants.js';
import { writePcrSelection, type PcrSelection } from '../../../shared/tpm/pcr-selection.js';
import { passwordAuth, TPM_CC } from '../command.js';
import type { Tpm } from '../tpm.js';

export interface Quote {
  /** TPMS_ATTEST as the TPM signed it, without the TPM2B size (IBM ACS `quoted`). */
  quoted: Buffer;
  /** TPMT_SIGNATURE (IBM ACS `signature`). */
  signature: Buffer;
}

/**
 * Has the AK at `akHandle` sign the digest of the selected PCRs with
 * `qualifyingData` (the server's nonce) as extraData. inScheme is
 * TPM_ALG_NULL: a restricted key's own scheme is used (Part 3 §18.2 note).
 */
export function quote(tpm: Tpm, akHandle: number, qualifyingData: Buffer, selection: readonly PcrSelection[]): Promise<Quote> {
  const w = new BufferWriter(128).tpm2b(qualifyingData).u16(TPM_ALG.NULL);
  writePcrSelection(w, selection);
  return tpm.execute(
    { cc: TPM_CC.Quote, handles: [akHandle], auth: [passwordAuth()], params: w.finish() },
    (res) => {
      const r = new BufferReader(res.params);
      const quoted = Buffer.from(r.tpm2b('TPM2B_ATTEST'));
      // TPMT_SIGNATURE is the last parameter: it runs to the end.
      const signature = Buffer.from(r.bytes(r.remaining, 'TPMT_SIGNATURE'));
      return { quoted, signature };
    },
  );
}
