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
 *
 * Digests are taken as 'binary' (Latin-1) strings, one char per byte: node:crypto
 * returns a string several times faster than it allocates a Buffer, and the
 * per-entry hashes are nearly all of a replay's cost.
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

/** One PCR of one bank: [current value | space for the digest], so an extend is one hash call. */
interface PcrScratch {
  pcr: number;
  both: Buffer;
  /** The digest half of `both`, kept to avoid a view per extend. */
  tail: Buffer;
}

interface Bank {
  alg: HashAlg;
  size: number;
  scratch: Map<number, PcrScratch>;
  /** The PCR extended last: IMA logs extend PCR 10 almost always. */
  last: PcrScratch | null;
}

/** H(data) written into `out` at `at`. */
function digestInto(alg: HashAlg, data: Uint8Array, out: Buffer, at: number): void {
  const d = hash(alg, data, 'binary');
  for (let i = 0; i < d.length; i++) out[at + i] = d.charCodeAt(i);
}

/**
 * H(data) written into `out` at `at`, and whether it equals the logged
 * template hash: one pass over the digest does both, as the template-hash
 * bank's extend digest is the template hash itself.
 */
function digestIntoMatches(alg: HashAlg, data: Uint8Array, out: Buffer, at: number, logged: Buffer): boolean {
  const d = hash(alg, data, 'binary');
  let diff = d.length ^ logged.length;
  for (let i = 0; i < d.length; i++) {
    const c = d.charCodeAt(i);
    out[at + i] = c;
    diff |= c ^ logged[i];
  }
  return diff === 0;
}

function sameBytes(d: string, b: Buffer): boolean {
  if (d.length !== b.length) return false;
  for (let i = 0; i < d.length; i++) if (d.charCodeAt(i) !== b[i]) return false;
  return true;
}

function pcrScratch(pcr: number, size: number): PcrScratch {
  const both = Buffer.alloc(2 * size);
  return { pcr, both, tail: both.subarray(size) };
}

export class ImaReplayer {
  readonly rule: ImaReplayRule;
  readonly templateHashAlg: HashAlg;
  private readonly templateHashSize: number;
  private readonly check: boolean;
  private readonly banks: Bank[];
  private next: number;

  constructor(opts: ImaReplayOptions) {
    this.rule = opts.rule ?? 'per_bank_template_data_hash';
    this.templateHashAlg = opts.templateHashAlg;
    this.templateHashSize = bankSize(opts.templateHashAlg);
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
      const scratch = new Map<number, PcrScratch>();
      for (const [pcr, v] of opts.start?.pcrs.get(alg) ?? []) {
        if (v.length !== size) throw new RangeError(`stored ${alg} PCR ${pcr} has ${v.length} bytes`);
        const s = pcrScratch(pcr, size);
        s.both.set(v);
        scratch.set(pcr, s);
      }
      return { alg, size, scratch, last: null };
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
    const logged = ev.templateHash;
    if (logged.length !== this.templateHashSize) {
      throw new EventLogError(`template hash has ${logged.length} bytes, not a ${this.templateHashAlg} digest`, undefined, ev.index);
    }
    const violation = isViolation(ev);
    const input = violation || this.rule !== 'per_bank_template_data_hash' ? null : templateHashInput(ev);
    // Set when a replayed bank's digest was the template hash (compared while copied).
    let matched: boolean | null = null;
    for (let i = 0; i < this.banks.length; i++) {
      const bank = this.banks[i];
      const s = this.scratchFor(bank, ev.pcrIndex);
      if (violation) {
        s.tail.fill(0);
        s.tail.fill(0xff, 0, this.rule === 'sha1_zero_padded' ? 20 : bank.size);
      } else if (input) {
        if (bank.alg === this.templateHashAlg) matched = digestIntoMatches(bank.alg, input, s.both, bank.size, logged);
        else digestInto(bank.alg, input, s.both, bank.size);
      } else {
        s.tail.fill(0);
        s.tail.set(logged);
      }
      // TPM 2.0 Part 1 §17.2: new = H(old || digest).
      digestInto(bank.alg, s.both, s.both, 0);
    }
    this.next++;
    if (violation) return 'violation';
    if (matched === null) {
      if (!this.check) return 'unchecked';
      matched = sameBytes(hash(this.templateHashAlg, input ?? templateHashInput(ev), 'binary'), logged);
    }
    return matched ? 'ok' : 'mismatch';
  }

  private scratchFor(bank: Bank, pcr: number): PcrScratch {
    const last = bank.last;
    if (last && last.pcr === pcr) return last;
    let s = bank.scratch.get(pcr);
    if (!s) {
      s = pcrScratch(pcr, bank.size);
      bank.scratch.set(pcr, s);
    }
    bank.last = s;
    return s;
  }

  /** Current value of one PCR in one bank (zeros when nothing extended it). */
  pcr(alg: HashAlg, pcrIndex = 10): Buffer {
    const bank = this.banks.find((b) => b.alg === alg);
    if (!bank) throw new RangeError(`bank ${alg} is not replayed`);
    const s = bank.scratch.get(pcrIndex);
    return s ? Buffer.from(s.both.subarray(0, bank.size)) : Buffer.alloc(bank.size);
  }

  /** A copy of the current state, to store and resume from. */
  state(): ImaReplayState {
    const pcrs: PcrValues = new Map();
    for (const bank of this.banks) {
      pcrs.set(bank.alg, new Map([...bank.scratch].map(([pcr, s]) => [pcr, Buffer.from(s.both.subarray(0, bank.size))])));
    }
    return { nextIndex: this.next, pcrs };
  }
}
