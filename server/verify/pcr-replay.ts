/**
 * Replaying the logs into the PCR values a quote should carry, and finding
 * the IMA prefix whose values reproduce the quote's pcrDigest (TPM 2.0
 * Part 3 §18.4: the digest of the selected PCRs, bank by bank in selection
 * order, ascending index). The first matching prefix wins: the log may
 * already hold events the TPM extended after the quote.
 */
import { TPM_ALG, type HashAlg } from '../../shared/tpm/constants.js';
import { pcrDigest } from '../../shared/crypto/quote.js';
import { initialPcrValue, replayedPcrValue } from '../../shared/eventlog/firmware/replay.js';
import { ImaReplayer, type ImaReplayRule, type TemplateHashCheck } from '../../shared/eventlog/ima/replay.js';
import { bankSize } from '../../shared/eventlog/pcr-values.js';
import { emptyPcrBanks, type PcrBanks } from '../../shared/tpm/pcr-banks.js';
import type { CheckedFirmwareLog, CheckedImaEvent, CheckedImaEvents } from './evidence.js';
import type { AcceptedState, VerifyPolicy } from './state.js';
import type { Acceptance, Refusal } from './verdict.js';

/** One bank of the quoted selection. */
export interface QuotedBank {
  alg: HashAlg;
  pcrs: number[];
}

export type PcrMap = Map<HashAlg, Map<number, Buffer>>;

/** The logs laid out for replay: the firmware PCR values to use and the IMA events past the stored position. */
export interface PreparedReplay {
  banks: QuotedBank[];
  /** Firmware PCR values per bank (every selected PCR but IMA's). */
  fixed: PcrMap;
  /** Replayed from the firmware log sent (a new boot), or the previous verified attestation's values (same boot). */
  firmwareSource: 'log' | 'previous';
  imaPcr: number;
  start: number;
  skipped: number;
  events: CheckedImaEvent[];
  imaStart: Map<HashAlg, Buffer>;
  templateHashAlg: HashAlg;
  rules: ImaReplayRule[];
}

export interface ReplayInput {
  newBoot: boolean;
  banks: QuotedBank[];
  firmware: CheckedFirmwareLog | null;
  ima: CheckedImaEvents;
  imaentry: number | undefined;
  state: AcceptedState;
  policy: VerifyPolicy;
}

const refuse = (reason: Refusal['reason'], message: string): { refusal: Refusal } => ({ refusal: { reason, message } });

/** Lays the evidence out for replay, or says why it cannot be replayed against this host's state. */
export function prepareReplay(input: ReplayInput): PreparedReplay | { refusal: Refusal } {
  const { state, policy } = input;
  const start = input.newBoot ? 0 : state.imaevents;
  if (start === null) return refuse('boot-position-unknown', 'the machine was reset since the nonce was issued');
  const first = input.ima.events.length > 0 ? (input.imaentry ?? 0) : start;
  if (first > start) return refuse('ima-gap', `IMA events start at ${first}, expected ${start}`);
  const skipped = Math.min(start - first, input.ima.events.length);
  const events = input.ima.events.slice(skipped);

  const fixed: PcrMap = new Map();
  for (const b of input.banks) {
    const values = new Map<number, Buffer>();
    for (const pcr of b.pcrs) {
      if (pcr === policy.imaPcr) continue;
      const v = firmwareValue(input, b.alg, pcr);
      if ('refusal' in v) return v;
      values.set(pcr, v.value);
    }
    fixed.set(b.alg, values);
  }
  const imaStart = new Map<HashAlg, Buffer>();
  for (const b of input.banks) {
    if (input.newBoot) {
      imaStart.set(b.alg, Buffer.alloc(bankSize(b.alg)));
      continue;
    }
    const stored = b.alg === 'sha1' ? state.imapcr.sha1 : b.alg === 'sha256' ? state.imapcr.sha256 : null;
    if (!stored) return refuse('boot-position-unknown', `no stored IMA PCR value in the ${b.alg} bank; full logs are needed`);
    imaStart.set(b.alg, Buffer.from(stored, 'hex'));
  }
  const templateHashAlg = events[0]?.templateHashAlg ?? 'sha1';
  return {
    banks: input.banks,
    fixed,
    firmwareSource: input.newBoot ? 'log' : 'previous',
    imaPcr: policy.imaPcr,
    start,
    skipped,
    events,
    imaStart,
    templateHashAlg,
    // Linux 5.8+ and IBM ACS extend H_bank(template data); older kernels the zero-padded SHA-1 template hash.
    rules: templateHashAlg === 'sha1' ? ['per_bank_template_data_hash', 'sha1_zero_padded'] : ['per_bank_template_data_hash'],
  };
}

function firmwareValue(input: ReplayInput, alg: HashAlg, pcr: number): { value: Buffer } | { refusal: Refusal } {
  if (input.newBoot) {
    if (!input.firmware) return refuse('firmware-log-missing', 'a new boot needs the firmware log (event0 …)');
    if (!input.policy.firmwarePcrs.includes(pcr)) return { value: initialPcrValue(alg, pcr, null) };
    return { value: replayedPcrValue(input.firmware.replay, alg, pcr) };
  }
  if (alg !== 'sha1' && alg !== 'sha256') return refuse('bank-unsupported', `PCR bank ${alg} not stored`);
  const stored = input.state.previous?.[alg]?.[pcr];
  if (!stored) return refuse('no-previous-pcrs', `no verified PCR ${pcr} value for this boot; full logs are needed`);
  return { value: Buffer.from(stored, 'hex') };
}

/** The quote's pcrDigest over given values; the AK's signing hash is SHA-256 for every AK the server certifies. */
export function digestOf(p: Pick<PreparedReplay, 'banks' | 'imaPcr'>, fixed: PcrMap, ima: Map<HashAlg, Buffer>): Buffer {
  const values: Buffer[] = [];
  for (const b of p.banks) for (const pcr of b.pcrs) values.push(pcr === p.imaPcr ? ima.get(b.alg)! : fixed.get(b.alg)!.get(pcr)!);
  return pcrDigest(TPM_ALG.SHA256, values);
}

export function toBanks(p: Pick<PreparedReplay, 'banks' | 'imaPcr'>, fixed: PcrMap, ima: Map<HashAlg, Buffer>): PcrBanks {
  const out = emptyPcrBanks();
  for (const b of p.banks) {
    if (b.alg !== 'sha1' && b.alg !== 'sha256') continue;
    for (const pcr of b.pcrs) out[b.alg][pcr] = (pcr === p.imaPcr ? ima.get(b.alg)! : fixed.get(b.alg)!.get(pcr)!).toString('hex');
  }
  return out;
}

export type ImaMatch = Omit<Acceptance, 'setsWhitelist' | 'offWhitelist' | 'changed'>;

/** PCR 10 after each prefix of the new events (index k: after k events) and each event's template-hash verdict. */
export interface ImaPrefixes {
  rule: ImaReplayRule;
  values: Map<HashAlg, Buffer>[];
  checks: TemplateHashCheck[];
}

function replayer(p: PreparedReplay, rule: ImaReplayRule): ImaReplayer {
  return new ImaReplayer({
    templateHashAlg: p.templateHashAlg,
    banks: p.banks.map((b) => b.alg),
    rule,
    checkTemplateHash: true,
    start: { nextIndex: p.start, pcrs: new Map(p.banks.map((b) => [b.alg, new Map([[p.imaPcr, p.imaStart.get(b.alg)!]])])) },
  });
}

function current(p: PreparedReplay, r: ImaReplayer): Map<HashAlg, Buffer> {
  return new Map(p.banks.map((b) => [b.alg, r.pcr(b.alg, p.imaPcr)] as const));
}

/** Replays every prefix under one rule, keeping PCR 10 after each. */
export function imaPrefixes(p: PreparedReplay, rule: ImaReplayRule): ImaPrefixes {
  const r = replayer(p, rule);
  const values = [current(p, r)];
  const checks: TemplateHashCheck[] = [];
  for (const e of p.events) {
    checks.push(r.extend(e.event));
    values.push(current(p, r));
  }
  return { rule, values, checks };
}

function matched(p: PreparedReplay, rule: ImaReplayRule, k: number, ima: Map<HashAlg, Buffer>, checks: TemplateHashCheck[]): ImaMatch {
  return {
    pcrs: toBanks(p, p.fixed, ima),
    imaSkipped: p.skipped,
    imaAccepted: k,
    imaNext: p.start + k,
    imaPcr: { sha256: ima.get('sha256')?.toString('hex') ?? null, sha1: ima.get('sha1')?.toString('hex') ?? null },
    imaRule: rule,
    templateChecks: checks.slice(0, k),
  };
}

/**
 * The IMA prefix that reproduces `quoted` with the prepared firmware values,
 * or, when none does, every rule's prefixes for the hypotheses.
 */
export function matchDigest(p: PreparedReplay, quoted: Buffer): { match: ImaMatch } | { mismatch: ImaPrefixes[] } {
  // The whole log usually matches (the client reads it after quoting): one replay per rule first.
  for (const rule of p.rules) {
    const r = replayer(p, rule);
    const checks = p.events.map((e) => r.extend(e.event));
    const ima = current(p, r);
    if (digestOf(p, p.fixed, ima).equals(quoted)) return { match: matched(p, rule, p.events.length, ima, checks) };
  }
  // A hash chain makes the first matching prefix the only one.
  const all = p.rules.map((rule) => imaPrefixes(p, rule));
  for (const pre of all) {
    for (let k = 0; k < pre.values.length; k++) {
      if (digestOf(p, p.fixed, pre.values[k]!).equals(quoted)) return { match: matched(p, pre.rule, k, pre.values[k]!, pre.checks) };
    }
  }
  return { mismatch: all };
}
