/**
 * The quote request handler: verification and the one transaction that
 * records its outcome.
 */
import type { Logger } from 'pino';
import type { IssuedNonce, ReportOutcome, StoreTx } from '../db/store.js';
import type { QuoteMachine } from '../db/quote-state.js';
import { reportState } from '../db/queries.js';
import { encodeReportVerdict } from '../db/report-verdict.js';
import { ACS_ERROR, AcsError } from '../shared/protocol/errors.js';
import type { JsonObject } from '../shared/protocol/frame.js';
import type { QuoteRequest, QuoteResponse } from '../shared/protocol/messages.js';
import { MarshalError } from '../shared/tpm/buffer.js';
import { unmarshalAttest, type TpmAttest } from '../shared/tpm/attest.js';
import { unmarshalSignature } from '../shared/tpm/signature.js';
import { verifyQuoteSignature } from '../shared/crypto/quote.js';
import type { ServerContext } from './context.js';
import { enrolledAk } from './ak-keys.js';
import { checkFirmwareLog } from './firmware-evidence.js';
import { checkImaEvents } from './ima-evidence.js';
import { acceptedImaEvents, attestationRecord, biosRows, imaRows } from './evidence-rows.js';
import { nameFirmwareEvents } from './firmware-suspects.js';
import { recordRefusal, reportVerdict, type Refused } from './refusal-record.js';
import type { CheckedFirmwareLog, CheckedImaEvents, QuoteEvidence } from './verify/evidence.js';
import { judgeQuote } from './verify/judge.js';
import { referenceLabel, type AcceptedState, type NonceLookup } from './verify/state.js';
import type { RefusalReason, Verdict } from './verify/verdict.js';
import { reportAlerts } from './alerts/report-alerts.js';
import { applyImaPolicy, imaPolicyRule, newDepartures } from './policy/apply.js';
import type { MachinePolicies } from './policy/policy-cache.js';

/**
 * quote: the orchestrator of attestation. It reads what the verification
 * core (server/verify/) needs — the enrolled AK, the nonce as issued, the
 * machine's accepted state — asks the core for a verdict, maps a refusal to
 * its IBM ACS wire code in one table (WIRE_CODE), and writes the outcome in
 * one transaction: an accepted quote with its verdict, or a refusal with its
 * verdict and evidence (server/refusal-record.ts). A refused quote changes
 * no machine state. The machine's assigned policies join the core's inputs,
 * and the alerts a report raises are written to the outbox in the report's
 * own transaction.
 */
export async function verifyQuote(req: QuoteRequest, _raw: JsonObject, ctx: ServerContext, log: Logger): Promise<QuoteResponse> {
  const remembered = ctx.aks.recall(req.hostname);
  let attestpub = remembered ?? (await ctx.aks.readEnrolled(ctx.store, req.hostname)).attestpub;
  const attest = structure('quoted', () => unmarshalAttest(req.quoted));
  const signature = structure('signature', () => unmarshalSignature(req.signature));
  const signedBy = (pub: string): boolean => {
    const ak = enrolledAk(pub);
    return verifyQuoteSignature(ak.pub, req.quoted, signature, ak.key);
  };
  let signatureOk = signedBy(attestpub);
  if (!signatureOk && remembered !== undefined) {
    // The host may have enrolled a new AK, through another server, since this one read its row.
    const current = (await ctx.aks.readEnrolled(ctx.store, req.hostname)).attestpub;
    if (current !== attestpub) {
      attestpub = current;
      signatureOk = signedBy(attestpub);
    }
  }
  if (!signatureOk) return notTheHosts(ctx, req, attest, 'quote signature does not verify with the enrolled AK', log);
  const refused: Refused = {
    hostname: req.hostname, attestpub, nonceHex: attest.extraData.toString('hex'), attest, quoteRecord: quoteRecord(req), firmware: null, ima: null,
  };
  try {
    // CPU-heavy parsing runs before any row is locked.
    const firmware = (refused.firmware = req.events.length > 0 ? checkFirmwareLog(req.events) : null);
    const ima = (refused.ima = checkImaEvents(req.imaevents, req.imaentry ?? 0, req.templatehashalg, ctx.policy.imaKeys));
    const work: QuoteWork = { req, attest, quoteRecord: refused.quoteRecord, firmware, ima, attestpub, ctx, log };
    const raised = await ctx.store.transaction((tx) => judgeAndWrite(tx, work), { deferWrites: true });
    // The delivery worker looks at the outbox at once only when this report wrote to it.
    if (raised) ctx.notifier.committed();
    return {};
  } catch (err) {
    if (err instanceof NotTheHostsQuote) return notTheHosts(ctx, req, attest, err.message, log);
    if (err instanceof AcsError) await recordRefusal(ctx, refused, err, err instanceof RefusedQuote ? err.verdict : null, log);
    throw err;
  }
}

/**
 * A quote not signed by the host's enrolled AK is not the host's evidence:
 * it changes nothing of the host (its state, its reports, its pending
 * nonces, which a forger holding one must not be able to burn) and is
 * recorded as a security event.
 */
async function notTheHosts(ctx: ServerContext, req: QuoteRequest, attest: TpmAttest, why: string, log: Logger): Promise<never> {
  await ctx.securityEvents.record('forged_quote', req.hostname, `${why}; extraData ${attest.extraData.toString('hex').slice(0, 128)}`, log);
  throw new AcsError(WIRE_CODE.signature, why);
}

/** A quote signed by an AK the host no longer has enrolled. */
class NotTheHostsQuote extends AcsError {
  constructor() {
    super(WIRE_CODE.signature, 'the quote is signed by an AK that is no longer enrolled');
  }
}

/** The IBM ACS wire code of each refusal (PROTOCOL.md "Errors"); the one place verdicts meet the protocol. */
export const WIRE_CODE: Record<RefusalReason, number> = {
  'signature': ACS_ERROR.QUOTE_SIGNATURE,
  'nonce-missing': ACS_ERROR.NONCE_MISSING,
  'nonce-value': ACS_ERROR.NONCE_VALUE,
  'nonce-used': ACS_ERROR.NONCE_USED,
  'nonce-expired': ACS_ERROR.NONCE_EXPIRED,
  'not-a-quote': ACS_ERROR.BAD_BLOB,
  'pcr-selection': ACS_ERROR.PCR_SELECT,
  'bank-unsupported': ACS_ERROR.BAD_ALGORITHM,
  // IBM answers 90000020 for a quote from another boot: the logs cannot describe it.
  'stale-boot': ACS_ERROR.EVENT,
  'tpm-reset': ACS_ERROR.EVENT,
  'boot-position-unknown': ACS_ERROR.EVENT,
  'ima-gap': ACS_ERROR.EVENT,
  'firmware-log-missing': ACS_ERROR.JSON_KEY,
  'no-previous-pcrs': ACS_ERROR.EVENT,
  'digest-mismatch': ACS_ERROR.EVENT,
};

/** A refusal on its way to the wire, carrying the verdict for the refusal record. */
export class RefusedQuote extends AcsError {
  constructor(readonly verdict: Verdict) {
    super(WIRE_CODE[verdict.refusal!.reason], verdict.refusal!.message);
  }
}

interface QuoteWork {
  req: QuoteRequest;
  attest: TpmAttest;
  quoteRecord: string;
  firmware: CheckedFirmwareLog | null;
  ima: CheckedImaEvents;
  /** The AK the quote's signature verified with. */
  attestpub: string;
  ctx: ServerContext;
  log: Logger;
}

/** Judges the quote and writes an accepted one; resolves to whether it raised alerts, throws a refusal. */
async function judgeAndWrite(tx: StoreTx, w: QuoteWork): Promise<boolean> {
  const { req, attest, ctx } = w;
  const s = await tx.quoteState(req.hostname, attest.extraData.toString('hex'));
  const m = s?.machine;
  if (!s || !m?.enrolled) throw new AcsError(ACS_ERROR.NOT_ENROLLED, 'hostname not enrolled');
  if (m.attestpub !== w.attestpub) {
    ctx.aks.remember(req.hostname, m.attestpub);
    throw new NotTheHostsQuote();
  }
  const a = s.nonce;
  const nonce: NonceLookup = a
    ? { found: { newBoot: a.newBoot, pcrselect: a.pcrselect, expires: a.nonceExpires, used: a.quoted !== null } }
    : { found: null, pending: (await tx.pendingAttestationForUpdate(m.id)) !== undefined };
  const beforeId = a?.id ?? Number.MAX_SAFE_INTEGER;
  // The newest report is, as a rule, the last accepted one too: the second read is the exception.
  const last = s.last;
  const previous = last && last.errorCode === null && last.quoteverified === true ? last : await tx.lastVerifiedAttestation(m.id, beforeId);
  const policies = await ctx.policies.compile(tx, s.policies);
  const evidence: QuoteEvidence = { attest, signatureValid: true, firmware: w.firmware, ima: w.ima, imaentry: req.imaentry };
  const state = acceptedState(m, previous?.pcrs ?? null, policies);
  const policy = policies.ima ? { ...ctx.policy, imaRules: [imaPolicyRule(policies.ima)] } : ctx.policy;
  const verdict = judgeQuote({ quote: evidence, nonce, state, policy, now: ctx.now() });
  if (verdict.refusal || !verdict.acceptance || !a) throw new RefusedQuote(verdict);
  return writeAccepted(tx, w, m, a, await nameFirmwareEvents(tx, m.id, a.id, w.firmware, verdict), state, policies, last);
}

function acceptedState(m: QuoteMachine, previous: AcceptedState['previous'], policies: MachinePolicies): AcceptedState {
  return {
    imaevents: m.imaevents,
    imapcr: { sha256: m.imapcr, sha1: m.imapcrSha1 },
    whitelist: m.whitelist,
    resetCount: m.resetCount,
    restartCount: m.restartCount,
    previous,
    reference: policies.reference,
  };
}

async function writeAccepted(
  tx: StoreTx, w: QuoteWork, m: QuoteMachine, a: IssuedNonce, verdict: Verdict, state: AcceptedState, policies: MachinePolicies,
  last: ReportOutcome | undefined,
): Promise<boolean> {
  const { ctx } = w;
  const acceptance = verdict.acceptance!;
  const now = ctx.now();
  const accepted = acceptedImaEvents(w.ima, acceptance);
  const imaPolicy = applyImaPolicy(policies.ima, accepted, m, a.newBoot);
  const rec = attestationRecord({ a, acceptance, attest: w.attest, quoteRecord: w.quoteRecord, ima: w.ima, firmware: w.firmware, now, policyViolations: imaPolicy.boot });
  const stored = reportVerdict(verdict);
  const before = reportState(last, ctx.staleAfterMs, now);
  await tx.updateAttestation(a.id, { ...rec.attestation, diagnosis: stored.diagnosis.summary, verdict: encodeReportVerdict(stored) });
  if (a.newBoot && w.firmware) await tx.insertBiosEvents(biosRows(m, a, w.firmware, now, false));
  if (accepted.length > 0) await tx.insertImaEvents(imaRows(m, a, accepted, now, false));
  await tx.updateMachine(m.id, rec.machine);
  const outcome: ReportOutcome = {
    id: a.id, boottime: a.boottime, quoted: now, errorCode: null, pcrinvalid: rec.attestation.pcrinvalid ?? null,
    quoteverified: true, logverified: true, policyViolations: imaPolicy.boot,
  };
  const reference = state.reference?.pcrs ?? state.whitelist;
  const offNews = acceptance.offWhitelist.length > 0 && newDepartures(acceptance.offWhitelist, state.previous, reference, ctx.policy.firmwarePcrs);
  const raised = await ctx.notifier.raise(
    tx,
    reportAlerts({
      hostname: m.hostname,
      report: ctx.notifier.reportRef(a.id),
      before,
      after: reportState(outcome, ctx.staleAfterMs, now),
      ...(offNews ? { pcrinvalid: { reference: referenceLabel(state), pcrs: acceptance.offWhitelist } } : {}),
      ...(policies.ima ? { violations: { policy: policies.ima.name, entries: imaPolicy.violations } } : {}),
    }),
  );
  w.log.info(
    { hostname: m.hostname, attestation: a.id, newBoot: a.newBoot, imaAccepted: accepted.length, imaRule: acceptance.imaRule, pcrinvalid: rec.attestation.pcrinvalid },
    'quote verified',
  );
  return raised;
}

function structure<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof MarshalError) throw new AcsError(ACS_ERROR.BAD_BLOB, `${what}: ${e.message}`);
    throw e;
  }
}

/**
 * The request as IBM stores it in attestlog.quote: every member but the
 * events, and only the members the protocol defines (unknown members are
 * ignored, never stored).
 */
function quoteRecord(req: QuoteRequest): string {
  const out: Record<string, string> = { command: 'quote', hostname: req.hostname, quoted: req.quoted.toString('hex'), signature: req.signature.toString('hex') };
  if (req.templatehashalg !== undefined) out.templatehashalg = req.templatehashalg.toString(16).padStart(4, '0');
  return JSON.stringify(out);
}
