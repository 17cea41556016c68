/** TPM2_Startup and TPM2_Shutdown, TPM 2.0 Part 3 §9.3 and §9.4. */
import { BufferWriter } from '../../../shared/tpm/buffer.js';
import { TPM_CC } from '../command.js';
import { TpmError } from '../response-code.js';
import type { Tpm } from '../tpm.js';

/** TPM_SU, Part 2 §6.5.3. */
export const TPM_SU = { CLEAR: 0x0000, STATE: 0x0001 } as const;

export function startup(tpm: Tpm, type: number = TPM_SU.CLEAR): Promise<void> {
  return tpm.execute({ cc: TPM_CC.Startup, params: new BufferWriter(2).u16(type).finish() }, () => undefined);
}

/**
 * Startup that accepts an already started TPM (TPM_RC_INITIALIZE): on a
 * real host the firmware has always sent it, on a simulator maybe not.
 */
export async function ensureStarted(tpm: Tpm): Promise<void> {
  try {
    await startup(tpm, TPM_SU.CLEAR);
  } catch (err) {
    if (!(err instanceof TpmError && err.is('TPM_RC_INITIALIZE'))) throw err;
  }
}

export function shutdown(tpm: Tpm, type: number = TPM_SU.CLEAR): Promise<void> {
  return tpm.execute({ cc: TPM_CC.Shutdown, params: new BufferWriter(2).u16(type).finish() }, () => undefined);
}
