/**
 * Judging a quote (DESIGN.md "Verification rules"): pure over the parsed
 * quote, its logs, the nonce as issued, the machine's accepted state and the
 * policy. Every check that can run does, even after one failed, so a report
 * shows each with its result; the refusal is the first failed check that
 * refuses the quote, in the order IBM ACS checks them.
 */
import { HASH_ALGS, TPM_ST } from '../../shared/tpm/constants.js';
import { quoteInfo, type ClockInfo } from '../../shared/tpm/attest.js';
import { pcrDepartures, type PcrBanks, type PcrDeparture } from '../../shared/tpm/pcr-banks.js';
import { samePcrSelection, selectedPcrs, unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import type { QuoteEvidence } from './evidence.js';
import { imaFindings, type ImaFindings } from './entries.js';
import { explainMismatch, type Explanation } from './hypotheses.js';
import { matchDigest, prepareReplay, toBanks, type ImaMatch, type PreparedReplay, type QuotedBank } from './pcr-replay.js';
import { referenceLabel, type AcceptedState, type NonceLookup, type VerifyPolicy } from './state.js';
import { diagnose } from './diagnosis.js';
import type { Check, CheckName, CheckResult, Refusal, RefusalReason, Verdict } from './verdict.js';

export interface JudgeInput {
  quote: QuoteEvidence;
  nonce: NonceLookup;
  state: AcceptedState;
  policy: VerifyPolicy;
  now: Date;
}

/** What the checks found, for the diagnosis. */
export interface Findings {
  refusal: Refusal | null;
  match: ImaMatch | null;
  prepared: PreparedReplay | null;
  explanation: Explanation | null;
  offWhitelist: PcrDeparture[];
  changed: PcrDeparture[];
  /** The replayed values of a refused quote's logs (the full IMA log for PCR 10). */
  replayedPcrs: PcrBanks | null;
  ima: ImaFindings | null;
  firmwareEvents: number;
}

class Checks {
  readonly list: Check[] = [];
  readonly refusals: Refusal[] = [];
  add(name: CheckName, result: CheckResult, detail: string, refusal?: RefusalReason): void {
    this.list.push({ name, result, detail });
    if (refusal) this.refusals.push({ reason: refusal, message: detail });
  }
}

const NOT_HOST = 'not judged: the signature does not verify with the enrolled AK, so this is not the host\'s evidence';
const ALL_AFTER_SIGNATURE: CheckName[] = [
  'nonce', 'pcr-selection', 'boot-counters', 'firmware-replay', 'ima-replay', 'template-hashes', 'ima-signatures', 'whitelist', 'previous-pcrs',
];

export function judgeQuote(input: JudgeInput): Verdict {
  const { quote, state, policy } = input;
  const c = new Checks();
  const empty: Findings = { refusal: null, match: null, prepared: null, explanation: null, offWhitelist: [], changed: [], replayedPcrs: null, ima: null, firmwareEvents: 0 };
  if (!quote.signatureValid) {
    c.add('signature', 'fail', 'quote signature does not verify with the enrolled AK', 'signature');
    for (const name of ALL_AFTER_SIGNATURE) c.add(name, 'n/a', NOT_HOST);
    return verdictOf(c, { ...empty, refusal: c.refusals[0]! }, input);
  }
  c.add('signature', 'pass', 'the quote is signed by the enrolled AK');

  // Nonce: issued to this host, unused, fresh.
  const n = input.nonce.found;
  if (n === null) {
    if (input.nonce.pending) c.add('nonce', 'fail', 'quote extraData is not a nonce issued to this host', 'nonce-value');
    else c.add('nonce', 'fail', 'no nonce was issued for this host', 'nonce-missing');
  } else if (n.used) c.add('nonce', 'fail', 'nonce already used', 'nonce-used');
  else if (n.expires.getTime() < input.now.getTime()) c.add('nonce', 'fail', 'nonce expired', 'nonce-expired');
  else c.add('nonce', 'pass', 'the nonce issued to this host, unused and unexpired');
  // Without its nonce, whether the quote starts a boot is what the client sent: a firmware log or not.
  const newBoot = n?.newBoot ?? quote.firmware !== null;

  // Quote type and PCR selection (TPM 2.0 Part 2 §10.12.1 TPMS_QUOTE_INFO).
  const info = quote.attest.type === TPM_ST.ATTEST_QUOTE ? quoteInfo(quote.attest) : undefined;
  let banks: QuotedBank[] | null = null;
  if (!info) c.add('pcr-selection', 'fail', 'quoted is not a TPM_ST_ATTEST_QUOTE', 'not-a-quote');
  else {
    const issued = n ? unmarshalPcrSelection(Buffer.from(n.pcrselect, 'hex')) : policy.pcrSelection;
    const unsupported = info.pcrSelect.find((s) => selectedPcrs(s).length > 0 && !HASH_ALGS.has(s.hashAlg));
    if (!samePcrSelection(info.pcrSelect, issued)) c.add('pcr-selection', 'fail', 'quoted PCR selection differs from the one issued', 'pcr-selection');
    else if (unsupported) c.add('pcr-selection', 'fail', `PCR bank 0x${unsupported.hashAlg.toString(16)} not supported`, 'bank-unsupported');
    else {
      banks = info.pcrSelect.map((s) => ({ alg: HASH_ALGS.get(s.hashAlg)?.name, pcrs: selectedPcrs(s) }))
        .filter((b): b is QuotedBank => b.alg !== undefined && b.pcrs.length > 0);
      c.add('pcr-selection', 'pass', banks.map((b) => `${b.alg} PCR ${b.pcrs.join(',')}`).join('; '));
    }
  }

  // Boot counters (TPMS_CLOCK_INFO, Part 2 §10.11.1).
  const clock = quote.attest.clockInfo;
  const counters = `resetCount ${clock.resetCount}, restartCount ${clock.restartCount}`;
  if (state.resetCount === null || state.restartCount === null) c.add('boot-counters', 'n/a', `${counters}; no verified quote to compare with`);
  else if (bootBefore(clock, state)) c.add('boot-counters', 'fail', 'the quote was signed in an earlier TPM boot than the newest verified quote', 'stale-boot');
  else if (!newBoot && (clock.resetCount !== state.resetCount || clock.restartCount !== state.restartCount)) {
    c.add('boot-counters', 'fail', 'the TPM was reset since the last attestation; the next nonce asks for full logs', 'tpm-reset');
  } else c.add('boot-counters', 'pass', newBoot ? `${counters}; a new boot` : `${counters}; the same boot`);

  const f = { ...empty, firmwareEvents: quote.firmware?.wire.length ?? 0 };
  if (banks === null) {
    for (const name of ['firmware-replay', 'ima-replay', 'template-hashes', 'ima-signatures', 'whitelist', 'previous-pcrs'] as const) {
      c.add(name, 'n/a', 'no PCR selection to replay against');
    }
    return verdictOf(c, { ...f, refusal: c.refusals[0]! }, input);
  }
  replayChecks(c, f, input, banks, newBoot);
  return verdictOf(c, { ...f, refusal: c.refusals[0] ?? null }, input);
}

function replayChecks(c: Checks, f: Findings, input: JudgeInput, banks: QuotedBank[], newBoot: boolean): void {
  const { quote, state, policy } = input;
  const prepared = prepareReplay({ newBoot, banks, firmware: quote.firmware, ima: quote.ima, imaentry: quote.imaentry, state, policy });
  if ('refusal' in prepared) {
    const r = prepared.refusal;
    if (r.reason === 'firmware-log-missing' || r.reason === 'no-previous-pcrs' || r.reason === 'bank-unsupported') {
      c.add('firmware-replay', 'fail', r.message, r.reason);
      c.add('ima-replay', 'n/a', 'not replayed');
    } else {
      c.add('firmware-replay', 'n/a', 'not replayed');
      c.add('ima-replay', 'fail', r.message, r.reason);
    }
    f.ima = imaFindings(quote.ima.events, [], policy);
    imaEntryChecks(c, f.ima);
    whitelistChecks(c, f, null, state, policy);
    return;
  }
  f.prepared = prepared;
  const quoted = quoteInfo(quote.attest)!.pcrDigest;
  const result = matchDigest(prepared, quoted);
  const firmwareDetail = prepared.firmwareSource === 'log'
    ? `${f.firmwareEvents} firmware events replay PCRs ${policy.firmwarePcrs.join(',')}`
    : 'same boot: the previous verified attestation\'s firmware PCRs';
  if ('match' in result) {
    f.match = result.match;
    c.add('firmware-replay', prepared.firmwareSource === 'log' ? 'pass' : 'n/a', firmwareDetail);
    const m = result.match;
    c.add('ima-replay', 'pass', m.imaAccepted === 0 && prepared.events.length === 0
      ? `no new IMA entries; PCR ${policy.imaPcr} as at entry ${m.imaNext}`
      : `IMA entries ${prepared.start}..${m.imaNext - 1} reproduce PCR ${policy.imaPcr} (${m.imaRule})`);
    f.ima = imaFindings(prepared.events.slice(0, m.imaAccepted), m.templateChecks, policy);
    imaEntryChecks(c, f.ima);
    whitelistChecks(c, f, m.pcrs, state, policy);
    return;
  }
  const explanation = explainMismatch(prepared, result.mismatch, state.whitelist, quoted);
  f.explanation = explanation;
  const mismatch = 'the event logs do not reproduce the quoted PCR digest';
  if (explanation.kind === 'firmware') {
    c.add('firmware-replay', 'fail', `${mismatch}: the firmware log does not reproduce PCR ${explanation.units.map((u) => u.pcr).join(',')}`, 'digest-mismatch');
    c.add('ima-replay', 'n/a', `PCR ${policy.imaPcr} is consistent with the quote once the firmware PCRs are corrected`);
  } else if (explanation.kind === 'ima') {
    c.add('firmware-replay', prepared.firmwareSource === 'log' ? 'pass' : 'n/a', `${firmwareDetail}; they match the white list`);
    c.add('ima-replay', 'fail', `${mismatch}: the IMA log does not reproduce PCR ${policy.imaPcr}`, 'digest-mismatch');
  } else {
    c.add('firmware-replay', 'fail', `${mismatch}: no single substitution of a PCR explains it`, 'digest-mismatch');
    c.add('ima-replay', 'fail', 'unverified: the digest does not match');
  }
  const first = result.mismatch[0]!;
  f.ima = imaFindings(prepared.events, first.checks, policy);
  imaEntryChecks(c, f.ima);
  f.replayedPcrs = toBanks(prepared, prepared.fixed, first.values.at(-1)!);
  whitelistChecks(c, f, f.replayedPcrs, state, policy);
}

function imaEntryChecks(c: Checks, ima: ImaFindings): void {
  c.add('template-hashes', ima.templateMismatches ? 'fail' : 'pass', ima.templateMismatches ? `${ima.templateMismatches} entries have a wrong template hash` : 'all match');
  c.add('ima-signatures', ima.unsigned ? 'warn' : 'pass', ima.unsigned ? `${ima.unsigned} entries unsigned, signed by an unknown key, or badly signed` : 'all verified');
  if (ima.policyRefused) c.add('ima-policy', 'fail', `${ima.policyRefused} entries not allowed by the policy`);
}

/** White list and previous attestation, over the values the quote proved (or, refused, the replayed ones). */
function whitelistChecks(c: Checks, f: Findings, pcrs: PcrBanks | null, state: AcceptedState, policy: VerifyPolicy): void {
  const describe = (d: PcrDeparture[]) => d.map((x) => `PCR ${x.pcr} (${x.bank})`).join(', ');
  const proved = f.match !== null;
  const what = proved ? '' : ' (replayed values; the quote was refused)';
  const reference = state.reference?.pcrs ?? state.whitelist;
  if (pcrs === null) c.add('whitelist', 'n/a', 'no PCR values to compare');
  else if (reference === null) c.add('whitelist', 'n/a', proved ? 'first verified quote: its PCRs become the white list' : 'no white list yet');
  else {
    f.offWhitelist = pcrDepartures(pcrs, reference, policy.firmwarePcrs);
    const label = referenceLabel(state);
    c.add('whitelist', f.offWhitelist.length ? 'fail' : 'pass', f.offWhitelist.length ? `${describe(f.offWhitelist)} differ from ${label}${what}` : `firmware PCRs match ${label}${what}`);
  }
  if (pcrs === null || state.previous === null) c.add('previous-pcrs', 'n/a', 'no previous verified attestation');
  else {
    f.changed = pcrDepartures(pcrs, state.previous, policy.firmwarePcrs);
    c.add('previous-pcrs', f.changed.length ? 'warn' : 'pass', f.changed.length ? `${describe(f.changed)} changed since the previous attestation${what}` : `unchanged${what}`);
  }
}

function verdictOf(c: Checks, f: Findings, input: JudgeInput): Verdict {
  const { diagnosis, suspectFirmwarePcrs } = diagnose(f, input);
  const m = f.match;
  return {
    checks: c.list,
    refusal: f.refusal,
    acceptance: f.refusal || !m ? null : { ...m, setsWhitelist: input.state.whitelist === null, offWhitelist: f.offWhitelist, changed: f.changed },
    diagnosis,
    suspectFirmwarePcrs,
    replayedPcrs: f.refusal ? f.replayedPcrs : null,
  };
}

/**
 * resetCount counts TPM Resets and restartCount the Restarts and Resumes
 * since the last Reset, so the pair orders the boots of one TPM. TPM2_Clear
 * zeroes both but destroys the AK with the storage hierarchy; the new AK's
 * enrollment clears the machine's counters, so a cleared TPM is never
 * compared with its past.
 */
function bootBefore(clock: ClockInfo, later: Pick<AcceptedState, 'resetCount' | 'restartCount'>): boolean {
  if (later.resetCount === null || later.restartCount === null) return false;
  if (clock.resetCount !== later.resetCount) return clock.resetCount < later.resetCount;
  return clock.restartCount < later.restartCount;
}
