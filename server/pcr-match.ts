import { hash } from 'node:crypto';
import type { IssuedNonce, MachineState, PcrBanks, VerifiedPcrs } from '../db/store.js';
import { ACS_ERROR, AcsError } from '../shared/protocol/errors.js';
import { HASH_ALGS, type HashAlg } from '../shared/tpm/constants.js';
import { selectedPcrs, type PcrSelection } from '../shared/tpm/pcr-selection.js';
import { initialPcrValue, replayedPcrValue } from '../shared/eventlog/firmware-replay.js';
import { bankSize } from '../shared/eventlog/pcr-values.js';
import type { AttestationPolicy } from './attestation-policy.js';
import type { CheckedFirmwareLog } from './firmware-evidence.js';
import { ImaReplayer, type ImaReplayRule, type TemplateHashCheck } from '../shared/eventlog/ima-replay.js';
import type { CheckedImaEvents } from './ima-evidence.js';

export const PCR_COUNT = 24;

export interface PcrMatchInput {
  attestation: IssuedNonce;
  machine: MachineState;
  selection: PcrSelection[];
  pcrDigest: Buffer;
  firmware: CheckedFirmwareLog | null;
  /** The last verified attestation of this boot: its PCRs stand in for an unsent firmware log. */
  previous: VerifiedPcrs | undefined;
  ima: CheckedImaEvents;
  imaentry: number | undefined;
  policy: AttestationPolicy;
}

export interface PcrMatch {
  /** The PCR values that reproduce the quote's digest. */
  pcrs: PcrBanks;
  /** IMA events received but already accounted for (another attestation got there first). */
  imaSkipped: number;
  /** IMA events that the quote covers; later ones are asked for again next time. */
  imaAccepted: number;
  /** Next IMA index and PCR value(s) after the accepted events. */
  imaNext: number;
  imaPcr: { sha256: string | null; sha1: string | null };
  /** How the banks other than the template-hash bank were extended. */
  imaRule: ImaReplayRule;
  /** Template-hash verdict of each accepted IMA event, in order. */
  templateChecks: TemplateHashCheck[];
}

/**
 * Finds the IMA prefix whose PCR values reproduce the quote's pcrDigest
 * (TPM 2.0 Part 3 §18.4: the digest of the selected PCRs, bank by bank in
 * selection order, ascending index), using the replayed firmware PCRs. The
 * first matching prefix wins: the log may already hold events the TPM
 * extended after the quote. Throws 90000020 when no prefix matches.
 */
export function matchQuotedPcrs(input: PcrMatchInput): PcrMatch {
  const { attestation: a, machine: m, policy } = input;
  const banks = input.selection
    .map((s) => ({ alg: bankAlg(s.hashAlg), pcrs: selectedPcrs(s) }))
    .filter((b) => b.pcrs.length > 0);
  const start = a.newBoot ? 0 : m.imaevents;
  if (start === null) throw new AcsError(ACS_ERROR.EVENT, 'the machine was reset since the nonce was issued');
  const first = input.ima.events.length > 0 ? (input.imaentry ?? 0) : start;
  if (first > start) throw new AcsError(ACS_ERROR.EVENT, `IMA events start at ${first}, expected ${start}`);
  const skipped = Math.min(start - first, input.ima.events.length);
  const events = input.ima.events.slice(skipped);

  const fixed = new Map<HashAlg, Map<number, Buffer>>();
  for (const b of banks) {
    const values = new Map<number, Buffer>();
    for (const pcr of b.pcrs) {
      if (pcr !== policy.imaPcr) values.set(pcr, firmwareValue(input, b.alg, pcr));
    }
    fixed.set(b.alg, values);
  }

  const templateHashAlg = events[0]?.templateHashAlg ?? 'sha1';
  // Linux 5.8+ and IBM ACS extend H_bank(template data); older kernels the zero-padded SHA-1 template hash.
  const rules: ImaReplayRule[] = templateHashAlg === 'sha1' ? ['per_bank_template_data_hash', 'sha1_zero_padded'] : ['per_bank_template_data_hash'];
  const attempt = (rule: ImaReplayRule, everyPrefix: boolean): PcrMatch | undefined => {
    const replayer = new ImaReplayer({
      templateHashAlg,
      banks: banks.map((b) => b.alg),
      rule,
      checkTemplateHash: true,
      start: { nextIndex: start, pcrs: new Map(banks.map((b) => [b.alg, new Map([[policy.imaPcr, imaStartValue(a, m, b.alg)]])])) },
    });
    const checks: TemplateHashCheck[] = [];
    for (let k = 0; ; k++) {
      if (everyPrefix || k === events.length) {
        const current = new Map(banks.map((b) => [b.alg, replayer.pcr(b.alg, policy.imaPcr)] as const));
        if (digestOf(banks, fixed, current, policy.imaPcr).equals(input.pcrDigest)) {
          return {
            pcrs: toBanks(banks, fixed, current, policy.imaPcr),
            imaSkipped: skipped,
            imaAccepted: k,
            imaNext: start + k,
            imaPcr: { sha256: current.get('sha256')?.toString('hex') ?? null, sha1: current.get('sha1')?.toString('hex') ?? null },
            imaRule: rule,
            templateChecks: checks,
          };
        }
      }
      if (k === events.length) return undefined;
      checks.push(replayer.extend(events[k].event));
    }
  };
  // The whole log usually matches (the client reads it after quoting); only when it runs past
  // the quote are shorter prefixes tried. A hash chain makes the first matching prefix the only one.
  for (const everyPrefix of [false, true]) {
    for (const rule of rules) {
      const match = attempt(rule, everyPrefix);
      if (match) return match;
    }
  }
  throw new AcsError(ACS_ERROR.EVENT, 'the event logs do not reproduce the quoted PCR digest');
}

function bankAlg(algId: number): HashAlg {
  const h = HASH_ALGS.get(algId);
  if (!h) throw new AcsError(ACS_ERROR.BAD_ALGORITHM, `PCR bank 0x${algId.toString(16)} not supported`);
  return h.name;
}

function firmwareValue(input: PcrMatchInput, alg: HashAlg, pcr: number): Buffer {
  if (input.attestation.newBoot) {
    if (!input.firmware) throw new AcsError(ACS_ERROR.JSON_KEY, 'a new boot needs the firmware log (event0 …)');
    if (!input.policy.firmwarePcrs.includes(pcr)) return initialPcrValue(alg, pcr, null);
    return replayedPcrValue(input.firmware.replay, alg, pcr);
  }
  if (alg !== 'sha1' && alg !== 'sha256') throw new AcsError(ACS_ERROR.BAD_ALGORITHM, `PCR bank ${alg} not stored`);
  const stored = input.previous?.pcrs?.[alg]?.[pcr];
  if (!stored) throw new AcsError(ACS_ERROR.EVENT, `no verified PCR ${pcr} value for this boot; full logs are needed`);
  return Buffer.from(stored, 'hex');
}

function imaStartValue(a: IssuedNonce, m: MachineState, alg: HashAlg): Buffer {
  if (a.newBoot) return Buffer.alloc(bankSize(alg));
  const stored = alg === 'sha1' ? m.imapcrSha1 : alg === 'sha256' ? m.imapcr : null;
  if (!stored) throw new AcsError(ACS_ERROR.EVENT, `no stored IMA PCR value in the ${alg} bank; full logs are needed`);
  return Buffer.from(stored, 'hex');
}

function digestOf(
  banks: { alg: HashAlg; pcrs: number[] }[],
  fixed: Map<HashAlg, Map<number, Buffer>>,
  ima: Map<HashAlg, Buffer>,
  imaPcr: number,
): Buffer {
  // The quote's pcrDigest uses the AK's signing hash, SHA-256 for every AK the server certifies.
  const h = [];
  for (const b of banks) for (const pcr of b.pcrs) h.push(pcr === imaPcr ? ima.get(b.alg)! : fixed.get(b.alg)!.get(pcr)!);
  return hash('sha256', Buffer.concat(h), 'buffer');
}

function toBanks(
  banks: { alg: HashAlg; pcrs: number[] }[],
  fixed: Map<HashAlg, Map<number, Buffer>>,
  ima: Map<HashAlg, Buffer>,
  imaPcr: number,
): PcrBanks {
  const out: PcrBanks = { sha256: Array(PCR_COUNT).fill(null), sha1: Array(PCR_COUNT).fill(null) };
  for (const b of banks) {
    if (b.alg !== 'sha1' && b.alg !== 'sha256') continue;
    for (const pcr of b.pcrs) {
      out[b.alg][pcr] = (pcr === imaPcr ? ima.get(b.alg)! : fixed.get(b.alg)!.get(pcr)!).toString('hex');
    }
  }
  return out;
}
