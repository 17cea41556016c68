/**
 * What a refused quote leaves behind, written in its own transaction after
 * the judging one rolled back. Only a quote signed by the enrolled AK gets
 * here (a forged one is a security event, server/security-events.ts): its
 * nonce is marked used, its attestlog row records the code and the
 * verdict, and its firmware and IMA events are kept as evidence, marked
 * refused, apart from the machine's accepted chain. The evidence of all but
 * the newest `--keep-refused` refused reports of the machine is pruned in
 * the same transaction, as are its alerts (attestation.failed, and the
 * state change). Machine state changes only when the TPM's signed counters
 * prove a reset.
 */
import type { Logger } from 'pino';
import type { AttestationPatch } from '../db/store.js';
import { encodeReportVerdict, type ReportVerdict } from '../db/report-verdict.js';
import { ACS_ERROR, type AcsError } from '../shared/protocol/errors.js';
import type { TpmAttest } from '../shared/tpm/attest.js';
import type { ServerContext } from './context.js';
import { biosRows, imaRows } from './evidence-rows.js';
import { nameFirmwareEvents } from './firmware-suspects.js';
import type { CheckedFirmwareLog, CheckedImaEvents } from './verify/evidence.js';
import type { Verdict } from './verify/verdict.js';
import { reportState } from '../db/queries.js';
import { reportAlerts } from './alerts/report-alerts.js';

export interface Refused {
  hostname: string;
  /** The enrolled AK the quote's signature verified with. */
  attestpub: string;
  nonceHex: string;
  attest: TpmAttest;
  quoteRecord: string;
  /** The parsed evidence, when it parsed. */
  firmware: CheckedFirmwareLog | null;
  ima: CheckedImaEvents | null;
}

/** The stored verdict of a refusal the core did not reach (a structure that did not parse, say). */
function edgeVerdict(err: AcsError): ReportVerdict {
  return { checks: [], diagnosis: { summary: `Refused: ${err.message}.`, pcrs: [], firmwareEvents: [], imaEntries: [] }, replayed: null };
}

export function reportVerdict(v: Verdict): ReportVerdict {
  return { checks: v.checks, diagnosis: v.diagnosis, replayed: v.replayedPcrs };
}

/** `verdict` is the core's, when judging got that far; `err` is what the client is answered. */
export async function recordRefusal(ctx: ServerContext, r: Refused, err: AcsError, verdict: Verdict | null, log: Logger): Promise<void> {
  try {
    const raised = await ctx.store.transaction(async (tx) => {
      const m = await tx.machineForUpdate(r.hostname);
      if (!m || m.attestpub !== r.attestpub) return false;
      const a = await tx.attestationByNonceForUpdate(m.id, r.nonceHex);
      if (!a || a.quoted) return false;
      const named = verdict && (await nameFirmwareEvents(tx, m.id, a.id, r.firmware, verdict));
      const stored = named ? reportVerdict(named) : edgeVerdict(err);
      const now = ctx.now();
      const before = reportState(await tx.lastReport(m.id, a.id), ctx.staleAfterMs, now);
      const patch: AttestationPatch = {
        quote: r.quoteRecord,
        quoted: now,
        quoteverified: true,
        logverified: err.code === ACS_ERROR.EVENT ? false : null,
        errorCode: err.code.toString(16).padStart(8, '0'),
        errorMessage: err.message,
        resetCount: r.attest.clockInfo.resetCount,
        restartCount: r.attest.clockInfo.restartCount,
        diagnosis: stored.diagnosis.summary,
        verdict: encodeReportVerdict(stored),
      };
      await tx.updateAttestation(a.id, patch);
      if (ctx.keepRefused > 0) {
        if (r.firmware) await tx.insertBiosEvents(biosRows(m, a, r.firmware, now, true));
        if (r.ima && r.ima.events.length > 0) await tx.insertImaEvents(imaRows(m, a, r.ima.events, now, true));
      }
      await tx.pruneRefusedEvidence(m.id, ctx.keepRefused);
      if (named?.refusal?.reason === 'tpm-reset') await tx.updateMachine(m.id, { imaevents: null, imapcr: null, imapcrSha1: null });
      const refusal = { code: patch.errorCode!, message: err.message, diagnosis: stored.diagnosis };
      const raisedAny = await ctx.notifier.raise(tx, reportAlerts({ hostname: m.hostname, report: ctx.notifier.reportRef(a.id), before, after: 'failing', refusal }));
      log.info({ hostname: m.hostname, attestation: a.id, refused: patch.errorCode, diagnosis: patch.diagnosis }, 'refused quote recorded');
      return raisedAny;
    });
    if (raised) ctx.notifier.committed();
  } catch (e) {
    log.warn({ err: e }, 'could not record the refused quote');
  }
}
