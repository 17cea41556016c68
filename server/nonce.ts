/**
 * The nonce request handler: issues the single-use nonce a quote must
 * answer and bounds how many a machine may hold.
 */
import { randomBytes } from 'node:crypto';
import type { NonceRequest, NonceResponse } from '../shared/protocol/messages.js';
import type { ServerContext } from './context.js';

const NONCE_BYTES = 32;
/**
 * Outstanding nonces per machine. Anyone may ask for a nonce in a host's
 * name, so without a bound its attestlog would grow with every request; a
 * new nonce retires the oldest beyond this many, still far more than one
 * host's clients have in flight at once.
 */
export const MAX_PENDING_NONCES = 64;

/**
 * nonce: issue a fresh 32-byte nonce bound to this machine, single use and
 * expiring, with the PCR selection to quote and where each log resumes. A new
 * boot (the first attestation since enrollment, a changed boot time, or a
 * TPM reset seen in an earlier quote) asks for both logs from the start.
 */
export async function issueNonce(req: NonceRequest, ctx: ServerContext): Promise<NonceResponse> {
  const nonce = randomBytes(NONCE_BYTES);
  const now = ctx.now();
  // No transaction and no lock: the quote is judged against the machine row
  // as it stands under the row lock then, so a position read here that
  // another attestation moves on meanwhile is the same case as that
  // attestation arriving between this nonce and its quote.
  const m = await ctx.aks.readEnrolled(ctx.store, req.hostname);
  const newBoot = m.imaevents === null || m.boottime !== req.boottime;
  const biosentry = newBoot ? 0 : -1;
  const imaentry = newBoot ? 0 : m.imaevents!;
  await ctx.store.insertAttestation({
    machineId: m.id,
    hostname: req.hostname,
    userid: req.userid,
    boottime: req.boottime,
    timestamp: now,
    nonce: nonce.toString('hex'),
    nonceExpires: new Date(now.getTime() + ctx.nonceTtlMs),
    pcrselect: ctx.policy.pcrselectHex,
    biosentry,
    imaentry,
    newBoot,
  });
  if (m.pendingNonces >= MAX_PENDING_NONCES) await ctx.store.retirePendingNonces(m.id, MAX_PENDING_NONCES);
  return { nonce, pcrselect: Buffer.from(ctx.policy.pcrselectHex, 'hex'), biosentry, imaentry };
}
