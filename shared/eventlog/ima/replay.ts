/**
 * Incremental IMA PCR replay. The caller feeds events one at a time and may
 * read the PCRs after each one (the server stops at the first prefix of the
 * log whose PCR 10 makes the quote digest match), and may start from stored
 * PCR values and an event index instead of from the beginning.
 *
 * Rules for a bank B (the kernel's ima_pcr_extend / ima_calc_field_array_hash):
 * - per_bank_template_data_hash (Linux 5.8+, IBM ACS IMA_Extend2): extend B
 *   with H_B(template data) (the padded input for the 'ima' template), in
 *   every bank, so an entry altered after measuring fails in every bank.
 * - sha1_zero_padded (Linux before 5.8 on a TPM 2.0): the SHA-1 bank gets the
 *   logged SHA-1 template hash, every other bank that hash zero-padded.
 * - as_logged: only the template-hash bank, extended with the logged hashes.
 * A violation (all-zero logged hash) extends all 0xFF of the bank size
 * (sha1_zero_padded: 20 bytes of 0xFF, zero-padded).
 */
import { hash } from 'node:crypto';
import type { HashAlg } from '../../tpm/constants.js';
import { EventLogError } from '../errors.js';
import type { ImaEvent } from './event.js';
import { isViolation, templateHashInput } from './template.js';
import { bankSize, type PcrValues } from '../pcr-values.js';

export type ImaReplayRule = 'per_bank_template_data_hash' | 'sha1_zero_padded' | 'as_logged';

/**
 * Result of checking an event's logged template hash against its template
 * data; 'unchecked' when the check was turned off and the replay did not
 * compute that digest anyway.
 */
export type TemplateHashCheck = 'ok' | 'mismatch' | 'violation' | 'unchecked';

/** Where an incremental replay stands: the next event index and the PCRs after the previous one. */
export interface ImaReplayState {
  nextIndex: number;
  pcrs: PcrValues;
}

export interface ImaReplayOptions {
  /** The algorithm of the logged template hashes. */
  templateHashAlg: HashAlg;
  /** Banks to replay; default: the template-hash bank. */
  banks?: readonly HashAlg[];
  rule?: ImaReplayRule;
  /** Continue from a stored state instead of zeros at event 0. */
  start?: ImaReplayState;
  /**
   * Recompute each template hash even when no replayed bank needs that
   * digest (default true). Turning it off saves one hash per event.
   */
  checkTemplateHash?: boolean;
}

interface Bank {
  alg: HashAlg;
  size: number;
  /** Per PCR: [current value | space for the digest], so an extend is one hash call. */
  scratch: Map<number, Buffer>;
}

export class ImaReplayer {
  readonly rule: ImaReplayRule;
  readonly templateHashAlg: HashAlg;
  private readonly check: boolean;
  private readonly banks: Bank[];
  private next: number;

  constructor(opts: ImaReplayOptions) {
    this.rule = opts.rule ?? 'per_bank_template_data_hash';
    this.templateHashAlg = opts.templateHashAlg;
    this.check = opts.checkTemplateHash ?? true;
    const algs = opts.banks ?? [opts.templateHashAlg];
    if (this.rule === 'as_logged' && algs.some((a) => a !== opts.templateHashAlg)) {
      throw new RangeError(`rule as_logged replays only the ${opts.templateHashAlg} bank`);
    }
    if (this.rule === 'sha1_zero_padded' && opts.templateHashAlg !== 'sha1') {
      throw new RangeError('rule sha1_zero_padded needs SHA-1 template hashes');
    }
    this.banks = [...new Set(algs)].map((alg) => {
      const size = bankSize(alg);
      const scratch = new Map<number, Buffer>();
      for (const [pcr, v] of opts.start?.pcrs.get(alg) ?? []) {
        if (v.length !== size) throw new RangeError(`stored ${alg} PCR ${pcr} has ${v.length} bytes`);
        const s = Buffer.alloc(2 * size);
        v.copy(s);
        scratch.set(pcr, s);
      }
      return { alg, size, scratch };
    });
    this.next = opts.start?.nextIndex ?? 0;
  }

  /** Index the next event must have. */
  get nextIndex(): number {
    return this.next;
  }

  /**
   * Extends every bank with one event and checks its template hash, reusing
   * the digest the replay computed when the template-hash bank is replayed.
   */
  extend(ev: ImaEvent): TemplateHashCheck {
    if (ev.index !== this.next) {
      throw new EventLogError(`IMA event ${ev.index} out of order: expected ${this.next}`, undefined, ev.index);
    }
    if (ev.templateHash.length !== bankSize(this.templateHashAlg)) {
      throw new EventLogError(`template hash has ${ev.templateHash.length} bytes, not a ${this.templateHashAlg} digest`, undefined, ev.index);
    }
    const violation = isViolation(ev);
    const input = violation || this.rule !== 'per_bank_template_data_hash' ? null : templateHashInput(ev);
    let logBankDigest: Buffer | null = null;
    for (const bank of this.banks) {
      const s = this.scratchFor(bank, ev.pcrIndex);
      const tail = s.subarray(bank.size);
      if (violation) {
        tail.fill(0);
        tail.fill(0xff, 0, this.rule === 'sha1_zero_padded' ? 20 : bank.size);
      } else if (input) {
        const d = hash(bank.alg, input, 'buffer');
        if (bank.alg === this.templateHashAlg) logBankDigest = d;
        tail.set(d);
      } else {
        tail.fill(0);
        tail.set(ev.templateHash);
      }
      s.set(hash(bank.alg, s, 'buffer'));
    }
    this.next++;
    if (violation) return 'violation';
    if (!logBankDigest && !this.check) return 'unchecked';
    const recomputed = logBankDigest ?? hash(this.templateHashAlg, input ?? templateHashInput(ev), 'buffer');
    return recomputed.equals(ev.templateHash) ? 'ok' : 'mismatch';
  }

  private scratchFor(bank: Bank, pcr: number): Buffer {
    let s = bank.scratch.get(pcr);
    if (!s) {
      s = Buffer.alloc(2 * bank.size);
      bank.scratch.set(pcr, s);
    }
    return s;
  }

  /** Current value of one PCR in one bank (zeros when nothing extended it). */
  pcr(alg: HashAlg, pcrIndex = 10): Buffer {
    const bank = this.banks.find((b) => b.alg === alg);
    if (!bank) throw new RangeError(`bank ${alg} is not replayed`);
    const s = bank.scratch.get(pcrIndex);
    return s ? Buffer.from(s.subarray(0, bank.size)) : Buffer.alloc(bank.size);
  }

  /** A copy of the current state, to store and resume from. */
  state(): ImaReplayState {
    const pcrs: PcrValues = new Map();
    for (const bank of this.banks) {
      pcrs.set(bank.alg, new Map([...bank.scratch].map(([pcr, s]) => [pcr, Buffer.from(s.subarray(0, bank.size))])));
    }
    return { nextIndex: this.next, pcrs };
  }
}
