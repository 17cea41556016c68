/**
 * Policy sessions: TPM2_StartAuthSession (Part 3 §11.1), TPM2_PolicySecret
 * (§23.4), TPM2_PolicyOR (§23.6), TPM2_PolicyGetDigest (§23.14).
 */
import { randomBytes } from 'node:crypto';
import { BufferReader, BufferWriter } from '../../../shared/tpm/buffer.js';
import { digestSize, TPM_ALG, TPM_RH } from '../../../shared/tpm/constants.js';
import { readDigest2b } from '../../../shared/tpm/tpm2b.js';
import { passwordAuth, TPM_CC } from '../command.js';
import type { Tpm } from '../tpm.js';

/** TPM_SE, Part 2 §6.11. */
export const TPM_SE = { HMAC: 0x00, POLICY: 0x01, TRIAL: 0x03 } as const;

/**
 * Starts an unsalted, unbound session (tpmKey and bind TPM_RH_NULL, no
 * parameter encryption). nonceCaller is a fresh digest-sized random value;
 * Part 3 §11.1 requires at least 16 bytes.
 */
export function startAuthSession(tpm: Tpm, hashAlg: number, type: number = TPM_SE.POLICY): Promise<{ handle: number }> {
  const params = new BufferWriter(64)
    .tpm2b(randomBytes(digestSize(hashAlg)))
    .tpm2b(Buffer.alloc(0))
    .u8(type)
    .u16(TPM_ALG.NULL)
    .u16(hashAlg)
    .finish();
  return tpm.execute(
    { cc: TPM_CC.StartAuthSession, handles: [TPM_RH.NULL, TPM_RH.NULL], params, responseHandles: 1 },
    (res) => ({ handle: res.handles[0] }),
  );
}

/**
 * PolicySecret bound to an entity authorized by password, e.g. TPM_RH_ENDORSEMENT
 * with its (usually empty) authValue. No nonce, cpHash, policyRef or expiration.
 */
export function policySecret(tpm: Tpm, authHandle: number, session: number, authValue?: Buffer): Promise<void> {
  const params = new BufferWriter(16).tpm2b(Buffer.alloc(0)).tpm2b(Buffer.alloc(0)).tpm2b(Buffer.alloc(0)).u32(0).finish();
  return tpm.execute(
    { cc: TPM_CC.PolicySecret, handles: [authHandle, session], auth: [passwordAuth(authValue)], params },
    () => undefined,
  );
}

/** Replaces the session digest by the OR of `digests` if it equals one of them (2 to 8 digests). */
export async function policyOr(tpm: Tpm, session: number, digests: readonly Buffer[]): Promise<void> {
  if (digests.length < 2 || digests.length > 8) throw new RangeError(`PolicyOR needs 2..8 digests, got ${digests.length}`);
  const w = new BufferWriter(16 + 66 * digests.length).u32(digests.length);
  for (const d of digests) w.tpm2b(d);
  return tpm.execute({ cc: TPM_CC.PolicyOR, handles: [session], params: w.finish() }, () => undefined);
}

export function policyGetDigest(tpm: Tpm, session: number): Promise<Buffer> {
  return tpm.execute({ cc: TPM_CC.PolicyGetDigest, handles: [session] }, (res) =>
    readDigest2b(new BufferReader(res.params), 'policyDigest'),
  );
}
