/**
 * The PCRs of a software TPM: PCR 0-23 in the SHA-1 and SHA-256 banks, the
 * banks swtpm_setup allocates by default, with TPM2_Startup(CLEAR) reset
 * values and TPM2_PCR_Extend.
 */
import { initialPcrValue } from '../../shared/eventlog/firmware/replay.js';
import { extendPcr } from '../../shared/eventlog/pcr-values.js';
import { HASH_ALGS, hashAlgId } from '../../shared/tpm/constants.js';
import { PCR_COUNT } from '../../shared/tpm/pcr-banks.js';

/** The banks this TPM implements. */
export type Bank = 'sha1' | 'sha256';
export const BANKS: readonly Bank[] = ['sha1', 'sha256'];
export type BankDigests = Record<Bank, Buffer>;

/** A bank or PCR this TPM does not have (a TPM answers TPM_RC_PCR or TPM_RC_VALUE). */
export class UnsupportedPcrError extends Error {
  override name = 'UnsupportedPcrError';
  constructor(readonly hashAlg: number, readonly pcr: number) {
    super(`PCR ${pcr} of bank 0x${hashAlg.toString(16).padStart(4, '0')} is not implemented`);
  }
}

/** The bank a TPM_ALG_ID names, if this TPM implements it. */
export function bankOf(hashAlg: number): Bank | undefined {
  const name = HASH_ALGS.get(hashAlg)?.name;
  return name === 'sha1' || name === 'sha256' ? name : undefined;
}

function checkPcr(bank: Bank, pcr: number): void {
  if (!Number.isInteger(pcr) || pcr < 0 || pcr >= PCR_COUNT) throw new UnsupportedPcrError(hashAlgId(bank), pcr);
}

export class SoftwarePcrBanks {
  private values: Record<Bank, Buffer[]> = { sha1: [], sha256: [] };

  constructor() {
    this.reset();
  }

  /** Every PCR back to its value after TPM2_Startup(CLEAR) (0xFF… for PCRs 17-22, zeros elsewhere). */
  reset(): void {
    for (const bank of BANKS) {
      this.values[bank] = Array.from({ length: PCR_COUNT }, (_, pcr) => initialPcrValue(bank, pcr, null));
    }
  }

  /**
   * TPM2_PCR_Extend (TPM 2.0 Part 3 §22.2): each bank given a digest is
   * extended with it (Part 1 §17.2: new = H(old || digest)); a bank without
   * one keeps its value.
   */
  extend(pcr: number, digests: Partial<BankDigests>): void {
    for (const bank of BANKS) {
      const digest = digests[bank];
      if (!digest) continue;
      checkPcr(bank, pcr);
      if (digest.length !== this.values[bank][pcr].length) {
        throw new RangeError(`a ${digest.length}-byte digest for the ${bank} bank`);
      }
      this.values[bank][pcr] = extendPcr(bank, this.values[bank][pcr], digest);
    }
  }

  value(bank: Bank, pcr: number): Buffer {
    checkPcr(bank, pcr);
    return this.values[bank][pcr];
  }

  /** Every value, hex, to be kept and restored with restore(). */
  snapshot(): Record<Bank, string[]> {
    return { sha1: this.values.sha1.map((v) => v.toString('hex')), sha256: this.values.sha256.map((v) => v.toString('hex')) };
  }

  /** Values from snapshot(); throws RangeError unless every bank has 24 values of its digest size. */
  restore(saved: unknown): void {
    const next: Record<Bank, Buffer[]> = { sha1: [], sha256: [] };
    for (const bank of BANKS) {
      const list = (saved as Record<string, unknown> | null)?.[bank];
      if (!Array.isArray(list) || list.length !== PCR_COUNT) throw new RangeError(`${bank} bank: not ${PCR_COUNT} values`);
      const size = this.values[bank][0].length;
      next[bank] = list.map((hex, pcr) => {
        if (typeof hex !== 'string' || !new RegExp(`^[0-9a-f]{${size * 2}}$`).test(hex)) throw new RangeError(`${bank} PCR ${pcr}: not a ${size}-byte hex value`);
        return Buffer.from(hex, 'hex');
      });
    }
    this.values = next;
  }
}
