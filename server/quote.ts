import type { Logger } from 'pino';
import type { AttestationPatch, IssuedNonce, MachineState, ReportOutcome, StoreTx } from '../db/store.js';
import { ACS_ERROR, AcsError } from '../shared/protocol/errors.js';
import type { JsonObject } from '../shared/protocol/frame.js';
import type { QuoteRequest, QuoteResponse } from '../shared/protocol/messages.js';
import { MarshalError } from '../shared/tpm/buffer.js';
import { TPM_ST } from '../shared/tpm/constants.js';
import { quoteInfo, unmarshalAttest, type ClockInfo, type TpmAttest } from '../shared/tpm/attest.js';
import { unmarshalSignature } from '../shared/tpm/signature.js';
import { samePcrSelection, unmarshalPcrSelection } from '../shared/tpm/pcr-selection.js';
import { verifyQuoteSignature } from '../shared/crypto/quote.js';
import type { ServerContext } from './context.js';
import { enrolledAk } from './ak-keys.js';
import { checkFirmwareLog, type CheckedFirmwareLog } from './firmware-evidence.js';
import { checkImaEvents, type CheckedImaEvents } from './ima-evidence.js';
import { matchQuotedPcrs, type PcrMatch } from './pcr-match.js';
import { acceptedImaEvents, attestationRecord, biosRows, imaRows } from './evidence-rows.js';
import { applyImaPolicy, judgePcrs } from './policy/apply.js';
import { reportState } from '../db/queries.js';
import { reportAlerts } from './alerts/report-alerts.js';
import type { AlertInput } from './alerts/alert.js';

/**
 * quote: the heart of attestation. The quote must be signed by the enrolled
 * AK (TPM 2.0 Part 3 §18.4), carry the issued nonce as extraData, be a
 * TPM_ST_ATTEST_QUOTE over the issued PCR selection, and its pcrDigest must
 * equal the digest of the PCRs replayed from the firmware log and the IMA log
 * (stopping at the first IMA prefix that matches). Everything is written in
 * one transaction; a refused quote changes no machine state and its
 * attestlog row records what failed. The alerts a report raises are written
 * to the outbox in the report's own transaction.
 */
export async function verifyQuote(req: QuoteRequest, raw: JsonObject, ctx: ServerContext, log: Logger): Promise<QuoteResponse> {
  const remembered = ctx.aks.recall(req.hostname);
  let attestpub = remembered ?? (await ctx.aks.readEnrolled(ctx.store, req.hostname)).attestpub;
  const attest = structure('quoted', () => unmarshalAttest(req.quoted));
  const quoteRecord = JSON.stringify(withoutEvents(raw));
  const nonceHex = attest.extraData.toString('hex');
  let signatureOk = false;
  try {
    const signature = structure('signature', () => unmarshalSignature(req.signature));
    const signedBy = (pub: string): boolean => {
      const ak = enrolledAk(pub);
      return verifyQuoteSignature(ak.pub, req.quoted, signature, ak.key);
    };
    signatureOk = signedBy(attestpub);
    if (!signatureOk && remembered !== undefined) {
      // The host may have enrolled a new AK, through another server, since this one read its row.
      const current = (await ctx.aks.readEnrolled(ctx.store, req.hostname)).attestpub;
      if (current !== attestpub) {
        attestpub = current;
        signatureOk = signedBy(attestpub);
      }
    }
    if (!signatureOk) throw new AcsError(ACS_ERROR.QUOTE_SIGNATURE, 'quote signature does not verify with the enrolled AK');
    // CPU-heavy checks run before any row is locked.
    const firmware = req.events.length > 0 ? checkFirmwareLog(req.events) : null;
    const ima = checkImaEvents(req.imaevents, req.imaentry ?? 0, req.templatehashalg, ctx.policy.imaKeys);
    const work: QuoteWork = { req, attest, quoteRecord, firmware, ima, attestpub, ctx, log };
    const response = await ctx.store.transaction((tx) => acceptQuote(tx, work));
    ctx.notifier.committed();
    return response;
  } catch (err) {
    if (err instanceof AcsError) await recordRefusal(ctx, req.hostname, attestpub, nonceHex, attest, quoteRecord, signatureOk, err, log);
    throw err;
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

async function acceptQuote(tx: StoreTx, w: QuoteWork): Promise<QuoteResponse> {
  const { req, attest, ctx } = w;
  const m = await tx.machineForUpdate(req.hostname);
  if (!m || !m.enrolled) throw new AcsError(ACS_ERROR.NOT_ENROLLED, 'hostname not enrolled');
  if (m.attestpub !== w.attestpub) {
    ctx.aks.remember(req.hostname, m.attestpub);
    throw new AcsError(ACS_ERROR.QUOTE_SIGNATURE, 'the quote is signed by an AK that is no longer enrolled');
  }
  const a = await issuedAttestation(tx, m, attest, ctx.now());
  if (attest.type !== TPM_ST.ATTEST_QUOTE) throw new AcsError(ACS_ERROR.BAD_BLOB, 'quoted is not a TPM_ST_ATTEST_QUOTE');
  const info = quoteInfo(attest)!;
  if (!samePcrSelection(info.pcrSelect, unmarshalPcrSelection(Buffer.from(a.pcrselect, 'hex')))) {
    throw new AcsError(ACS_ERROR.PCR_SELECT, 'quoted PCR selection differs from the one issued');
  }
  if (bootBefore(attest.clockInfo, m)) throw new StaleQuoteError();
  if (!a.newBoot && (attest.clockInfo.resetCount !== m.resetCount || attest.clockInfo.restartCount !== m.restartCount)) {
    throw new NewBootError();
  }
  const previous = await tx.lastVerifiedAttestation(m.id, a.id);
  const match: PcrMatch = matchQuotedPcrs({
    attestation: a,
    machine: m,
    selection: info.pcrSelect,
    pcrDigest: info.pcrDigest,
    firmware: w.firmware,
    previous,
    ima: w.ima,
    imaentry: w.req.imaentry,
    policy: ctx.policy,
  });
  const now = ctx.now();
  const policies = await ctx.policies.forMachine(tx, m.hostname);
  const accepted = acceptedImaEvents(w.ima, match);
  const imaPolicy = applyImaPolicy(policies.ima, accepted, m, a.newBoot);
  const pcrCheck = judgePcrs(match.pcrs, previous?.pcrs, policies.reference, m.whitelist, ctx.policy.firmwarePcrs);
  const rec = attestationRecord({
    m, a, match, previous, attest, quoteRecord: w.quoteRecord, ima: w.ima, firmware: w.firmware, now, policy: ctx.policy, pcrCheck, policyViolations: imaPolicy.boot,
  });
  const before = reportState(await tx.lastReport(m.id, a.id), ctx.staleAfterMs, now);
  await tx.updateAttestation(a.id, rec.attestation);
  if (a.newBoot && w.firmware) await tx.insertBiosEvents(biosRows(m, a, w.firmware, now));
  if (accepted.length > 0) await tx.insertImaEvents(imaRows(m, a, accepted, now));
  await tx.updateMachine(m.id, rec.machine);
  const outcome: ReportOutcome = {
    id: a.id, boottime: a.boottime, quoted: now, errorCode: null, pcrinvalid: rec.attestation.pcrinvalid ?? null, quoteverified: true, logverified: true, policyViolations: imaPolicy.boot,
  };
  const after = reportState(outcome, ctx.staleAfterMs, now);
  await ctx.notifier.raise(
    tx,
    reportAlerts({
      hostname: m.hostname,
      report: ctx.notifier.reportRef(a.id),
      before,
      after,
      ...(pcrCheck?.changed && pcrCheck.departures.length > 0 ? { pcrinvalid: { reference: pcrCheck.reference, pcrs: pcrCheck.departures } } : {}),
      ...(policies.ima ? { violations: { policy: policies.ima.name, entries: imaPolicy.violations } } : {}),
    }),
  );
  w.log.info(
    { hostname: m.hostname, attestation: a.id, newBoot: a.newBoot, imaAccepted: accepted.length, imaRule: match.imaRule, pcrinvalid: rec.attestation.pcrinvalid },
    'quote verified',
  );
  return {};
}

/** The attestation whose nonce the quote carries, checked fresh and unused. */
async function issuedAttestation(tx: StoreTx, m: MachineState, attest: TpmAttest, now: Date): Promise<IssuedNonce> {
  const a = await tx.attestationByNonceForUpdate(m.id, attest.extraData.toString('hex'));
  if (!a) {
    const pending = await tx.pendingAttestationForUpdate(m.id);
    if (!pending) throw new AcsError(ACS_ERROR.NONCE_MISSING, 'no nonce was issued for this host');
    throw new AcsError(ACS_ERROR.NONCE_VALUE, 'quote extraData is not a nonce issued to this host');
  }
  if (a.quoted) throw new AcsError(ACS_ERROR.NONCE_USED, 'nonce already used');
  if (a.nonceExpires.getTime() < now.getTime()) throw new AcsError(ACS_ERROR.NONCE_EXPIRED, 'nonce expired');
  return a;
}

/**
 * The quote's resetCount/restartCount differ from the last verified quote
 * while the client sent an incremental log: the TPM restarted (a new boot the
 * client's boot time did not reveal). Refused with 90000020 like IBM, and the
 * machine is marked so the next nonce asks for full logs.
 */
class NewBootError extends AcsError {
  constructor() {
    super(ACS_ERROR.EVENT, 'the TPM was reset since the last attestation; the next nonce asks for full logs');
  }
}

/**
 * A quote held back and delivered late: the TPM signed it in an earlier boot
 * than the machine's newest verified quote. Refused without touching machine
 * state, so a delayed genuine quote can neither roll the machine back to an
 * older boot nor reset its boot position.
 */
class StaleQuoteError extends AcsError {
  constructor() {
    super(ACS_ERROR.EVENT, 'the quote was signed in an earlier TPM boot than the newest verified quote');
  }
}

/**
 * TPMS_CLOCK_INFO (TPM 2.0 Part 2 §10.11.1): resetCount counts TPM Resets and
 * restartCount the Restarts and Resumes since the last Reset, so the pair
 * orders the boots of one TPM. TPM2_Clear zeroes both, but it also destroys
 * the storage hierarchy the AK lives in: the new AK's enrollment clears the
 * machine's counters, so a cleared TPM is never compared with its past.
 */
function bootBefore(clock: ClockInfo, later: Pick<MachineState, 'resetCount' | 'restartCount'>): boolean {
  if (later.resetCount === null || later.restartCount === null) return false;
  if (clock.resetCount !== later.resetCount) return clock.resetCount < later.resetCount;
  return clock.restartCount < later.restartCount;
}

/**
 * Marks the nonce used and records why the quote failed, in its own
 * transaction after the main one rolled back. Machine state changes only for
 * a correctly signed quote that reveals a TPM reset.
 */
async function recordRefusal(
  ctx: ServerContext,
  hostname: string,
  attestpub: string,
  nonceHex: string,
  attest: TpmAttest,
  quoteRecord: string,
  signatureOk: boolean,
  err: AcsError,
  log: Logger,
): Promise<void> {
  try {
    await ctx.store.transaction(async (tx) => {
      const m = await tx.machineForUpdate(hostname);
      if (!m) return;
      const now = ctx.now();
      if (!signatureOk) await ctx.notifier.raise(tx, [forgedQuoteAlert(hostname, err, now)]);
      const a = await tx.attestationByNonceForUpdate(m.id, nonceHex);
      if (!a || a.quoted) return;
      const patch: AttestationPatch = {
        quote: quoteRecord,
        quoted: now,
        quoteverified: signatureOk,
        logverified: err.code === ACS_ERROR.EVENT ? false : null,
        errorCode: err.code.toString(16).padStart(8, '0'),
        errorMessage: err.message,
        resetCount: attest.clockInfo.resetCount,
        restartCount: attest.clockInfo.restartCount,
      };
      const before = reportState(await tx.lastReport(m.id, a.id), ctx.staleAfterMs, now);
      await tx.updateAttestation(a.id, patch);
      if (err instanceof NewBootError && signatureOk && m.attestpub === attestpub) {
        await tx.updateMachine(m.id, { imaevents: null, imapcr: null, imapcrSha1: null });
      }
      if (signatureOk) {
        const refusal = { code: patch.errorCode!, message: err.message };
        await ctx.notifier.raise(tx, reportAlerts({ hostname, report: ctx.notifier.reportRef(a.id), before, after: 'failing', refusal }));
      }
    });
    ctx.notifier.committed();
  } catch (e) {
    log.warn({ err: e }, 'could not record the refused quote');
  }
}

/**
 * A quote that does not verify with the host's AK is not the host's: it is
 * reported as a security event, at most once a minute per host (the id is
 * derived from the host and the minute) so a flood of forgeries is one alert.
 */
function forgedQuoteAlert(hostname: string, err: AcsError, now: Date): AlertInput {
  const minute = now.toISOString().slice(0, 16);
  return {
    type: 'security.forged_quote',
    hostname,
    summary: `${hostname}: a quote whose signature does not verify with the enrolled AK was refused`,
    details: { reason: err.message, minute },
    dedupeKey: `security.forged_quote:${hostname}:${minute}`,
  };
}

function structure<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof MarshalError) throw new AcsError(ACS_ERROR.BAD_BLOB, `${what}: ${e.message}`);
    throw e;
  }
}

/** The request as IBM stores it in attestlog.quote: every member but the events. */
function withoutEvents(raw: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(raw)) if (!/^(ima)?event\d+$/.test(k)) out[k] = v;
  return out;
}
