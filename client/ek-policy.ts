/**
 * Authorizing use of the EK (the USER role, e.g. the keyHandle of
 * TPM2_ActivateCredential). The default EK templates carry one of two
 * authPolicy values (TCG EK Credential Profile v2.5 Annex B.6):
 *
 *   PolicyA = TPM2_PolicySecret(TPM_RH_ENDORSEMENT)            (low range, L-1/L-2)
 *   PolicyB = TPM2_PolicyOR(PolicyA, PolicyC)                  (high range, H-1..H-7)
 *   PolicyC = TPM2_PolicyAuthorizeNV(EK policy index 0x01c07f0x)
 *
 * PolicyA and PolicyC are computed here with the policy digest update rules
 * of TPM 2.0 Part 3 §23.4 (PolicySecret) and §23.22 (PolicyAuthorizeNV), so
 * the session digest can be checked before the EK is used.
 */
import { createHash } from 'node:crypto';
import { BufferWriter } from '../shared/tpm/buffer.js';
import { hashAlgName, TPM_RH, TPMA_OBJECT } from '../shared/tpm/constants.js';
import type { TpmPublic } from '../shared/tpm/public.js';
import { passwordAuth, policyAuth, TPM_CC, type AuthCommand } from './tpm/command.js';
import { flushContext } from './tpm/commands/objects.js';
import { policyOr, policySecret, startAuthSession } from './tpm/commands/session.js';
import type { Tpm } from './tpm/tpm.js';

/** TPM_CC_PolicyAuthorizeNV, Part 2 §6.5.2. */
const CC_POLICY_AUTHORIZE_NV = 0x192;

/**
 * Names of the EK policy NV indices 0x01c07f01 (SHA-256), 0x01c07f02
 * (SHA-384), 0x01c07f03 (SHA-512) as the EK Credential Profile defines
 * their public areas (Annex B.8.3).
 */
const EK_POLICY_NV_NAMES: Readonly<Record<string, string>> = {
  sha256: '000b0c9d717e9c3fe69fda41769450bb145957f8b3610e084dbf65591a5d11ecd83f',
  sha384: '000cdb62fca346612c976732ff4e8621fb4e858be82586486504f7d02e621f8d7d61ae32cfc60c4d120609ed6768afcf090c',
  sha512:
    '000d1c47c0bbcbd3cf7d7cae6987d31937c171015dde3b7f0d3c869bca1f7e8a' +
    '223b9acfadb49b7c9cf14d450f41e9327de34d9291eece2c58ab1dc10e9059cce560',
};

export class EkPolicyError extends Error {
  override name = 'EkPolicyError';
}

function u32(v: number): Buffer {
  return new BufferWriter(4).u32(v).finish();
}

/** policyDigest_new = H(policyDigest_old || ...parts) (Part 1 §19.7.2). */
function extend(hash: string, old: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHash(hash).update(old);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** PolicyA: PolicySecret(TPM_RH_ENDORSEMENT) with an empty policyRef (Part 3 §23.4: two hash steps). */
export function policyA(nameAlg: number): Buffer {
  const hash = hashAlgName(nameAlg);
  const zero = Buffer.alloc(createHash(hash).digest().length);
  const first = extend(hash, zero, u32(TPM_CC.PolicySecret), u32(TPM_RH.ENDORSEMENT));
  return extend(hash, first);
}

/** PolicyC: PolicyAuthorizeNV of the EK policy index for this hash. */
export function policyC(nameAlg: number): Buffer {
  const hash = hashAlgName(nameAlg);
  const name = EK_POLICY_NV_NAMES[hash];
  if (!name) throw new EkPolicyError(`no EK policy index for ${hash}`);
  const zero = Buffer.alloc(createHash(hash).digest().length);
  return extend(hash, zero, u32(CC_POLICY_AUTHORIZE_NV), Buffer.from(name, 'hex'));
}

/** PolicyB: PolicyOR(PolicyA, PolicyC) (Part 3 §23.6). */
export function policyB(nameAlg: number): Buffer {
  const hash = hashAlgName(nameAlg);
  const zero = Buffer.alloc(createHash(hash).digest().length);
  return extend(hash, zero, u32(TPM_CC.PolicyOR), policyA(nameAlg), policyC(nameAlg));
}

/** An authorization for the EK and the session (if any) to flush when done. */
export interface EkAuthorization {
  auth: AuthCommand;
  release(): Promise<void>;
}

function defaultPolicyOf(ek: TpmPublic): 'A' | 'B' | undefined {
  try {
    if (policyA(ek.nameAlg).equals(ek.authPolicy)) return 'A';
    if (policyB(ek.nameAlg).equals(ek.authPolicy)) return 'B';
  } catch {
    // a nameAlg without default EK policies
  }
  return undefined;
}

/**
 * Builds the authorization the EK's authPolicy asks for: a policy session in
 * the EK's nameAlg satisfying PolicyA or PolicyB, or, for a key whose policy
 * is neither but that has userWithAuth, its empty password.
 */
export async function authorizeEk(tpm: Tpm, ek: TpmPublic, endorsementAuth?: Buffer): Promise<EkAuthorization> {
  const policy = defaultPolicyOf(ek);
  if (!policy) {
    if (ek.objectAttributes & TPMA_OBJECT.userWithAuth) return { auth: passwordAuth(), release: async () => undefined };
    throw new EkPolicyError(`EK authPolicy ${ek.authPolicy.toString('hex')} is not a default EK policy`);
  }
  const session = await startAuthSession(tpm, ek.nameAlg);
  try {
    await policySecret(tpm, TPM_RH.ENDORSEMENT, session.handle, endorsementAuth);
    if (policy === 'B') await policyOr(tpm, session.handle, [policyA(ek.nameAlg), policyC(ek.nameAlg)]);
  } catch (err) {
    // the session is only handed out when satisfied; otherwise it ends here
    await flushContext(tpm, session.handle).catch(() => undefined);
    throw err;
  }
  return { auth: policyAuth(session.handle), release: () => flushContext(tpm, session.handle) };
}
