/**
 * Enrollment handlers: enrollrequest answers a credential only the TPM
 * holding both the EK and the AK can activate; enrollcert completes the
 * machine row once it has, and issues the AK certificate.
 */
import { X509Certificate, randomBytes, timingSafeEqual } from 'node:crypto';
import { ACS_ERROR, AcsError } from '../shared/protocol/errors.js';
import type { EnrollCertRequest, EnrollCertResponse, EnrollRequest, EnrollResponse } from '../shared/protocol/messages.js';
import { MarshalError } from '../shared/tpm/buffer.js';
import { unmarshalPublic, UnsupportedAlgorithmError, type TpmPublic } from '../shared/tpm/public.js';
import { objectName } from '../shared/tpm/name.js';
import { ekTemplateForKey, UnknownEkKeyError } from '../shared/tpm/ek-templates.js';
import { makeCredential } from '../shared/crypto/make-credential.js';
import { publicKeyFromTpm } from '../shared/crypto/keys.js';
import { certificateText, spkiFingerprint } from '../shared/crypto/certificate-info.js';
import { DuplicateKeyError, type MachinePatch, type NewMachine, type StoreTx } from '../db/store.js';
import { checkAkPublic } from './ak-policy.js';
import type { ServerContext } from './context.js';
import { CertificateError, parseDerCertificate } from './trust-store.js';

/** A new machine's attested state: empty until its first accepted quote sets it. */
export const NOT_YET_ATTESTED = {
  boottime: null,
  imaevents: null,
  imapcr: null,
  imapcrSha1: null,
  whitelist: null,
  resetCount: null,
  restartCount: null,
} as const satisfies Partial<NewMachine>;

/** Size of the enrollment challenge: one SHA-256 digest, the most a low-range EK's credential can hold. */
const CHALLENGE_BYTES = 32;

/**
 * enrollrequest: verify the EK certificate chain, check the AK's attributes,
 * and answer TPM2_MakeCredential for the certificate's EK key and the AK's
 * name (TPM 2.0 Part 1 §24 "Credential Protection"), so only the TPM holding
 * both keys can recover the challenge.
 */
export async function enrollRequest(req: EnrollRequest, ctx: ServerContext): Promise<EnrollResponse> {
  const ek = certificate(() => parseDerCertificate(req.ekcert));
  const intermediates = req.intermediatecert ? [certificate(() => parseDerCertificate(req.intermediatecert!))] : [];
  await ctx.trust.verify(ek, intermediates, ctx.now()).catch(certificateRefusal);

  const ak = akPublic(req.akpub);
  const akAlg = checkAkPublic(ak);
  const akName = objectName(req.akpub);
  let ekClass;
  try {
    ekClass = ekTemplateForKey(ek.publicKey).ekClass;
  } catch (e) {
    if (e instanceof UnknownEkKeyError) throw new AcsError(ACS_ERROR.BAD_ALGORITHM, e.message);
    throw e;
  }
  const challenge = randomBytes(CHALLENGE_BYTES);
  const made = makeCredential({ key: ek.publicKey, ...ekClass }, akName, challenge);
  const ekFingerprint = spkiFingerprint(ek);
  const now = ctx.now();
  // The EK columns of an enrolled machine change only when enrollcert proves the new EK's TPM holds the AK.
  const ekFields = {
    tpmvendor: req.tpmvendor,
    ekcertificatepem: ek.toString(),
    ekcertificatetext: certificateText(ek),
    ekFingerprint,
    ekAlg: ekAlgorithm(ek),
  };
  const request = {
    challenge: challenge.toString('hex'),
    challengeExpires: new Date(now.getTime() + ctx.challengeTtlMs),
    pendingAttestpub: req.akpub.toString('hex'),
    pendingAkName: akName.toString('hex'),
    pendingAkAlg: akAlg,
    pendingEkcertificatepem: ek.toString(),
    pendingTpmvendor: req.tpmvendor,
  };

  const write = () => ctx.store.transaction(async (tx) => {
    // An early answer only: enrollcert decides under the row lock, and the database's unique key backs it.
    await refuseEkEnrolledElsewhere(tx, ekFingerprint, req.hostname);
    const existing = await tx.machineForUpdate(req.hostname);
    if (!existing) {
      await tx.insertMachine({
        hostname: req.hostname,
        ...ekFields,
        ...request,
        // IBM's attestpub is NOT NULL: it holds the requested AK until enrollcert confirms it.
        attestpub: request.pendingAttestpub,
        akName: request.pendingAkName,
        akAlg,
        akcertificatepem: null,
        akcertificatetext: null,
        enrolled: null,
        ...NOT_YET_ATTESTED,
      });
      return;
    }
    // Only a completed enrollment binds the hostname to its EK; a pending request proved nothing.
    if (existing.enrolled && existing.ekFingerprint !== ekFingerprint && !ctx.allowReenroll) {
      throw new AcsError(ACS_ERROR.ENROLLED, 'hostname already enrolled with a different EK');
    }
    await tx.updateMachine(existing.id, existing.enrolled ? request : { ...ekFields, ...request });
  });
  try {
    await write();
  } catch (e) {
    // A concurrent enrollrequest for the same new hostname inserted its row
    // first; once more, this request now finds and updates that row.
    if (!(e instanceof DuplicateKeyError && e.key === 'machines_hostname_uq')) throw e;
    await write();
  }
  return { credentialblob: made.credentialBlob, secret: made.secret };
}

/**
 * enrollcert: the activated challenge proves the AK is in the EK's TPM;
 * issue the AK certificate and complete the machine row. The challenge is
 * compared in constant time and used once.
 */
export async function enrollCert(req: EnrollCertRequest, ctx: ServerContext): Promise<EnrollCertResponse> {
  return ctx.store.transaction(async (tx) => {
    const m = await tx.machineForUpdate(req.hostname);
    if (!m || !m.challenge || !m.pendingAttestpub || !m.pendingAkName || !m.pendingAkAlg) {
      throw new AcsError(ACS_ERROR.NO_ENROLL_REQ, 'no pending enrollrequest for this hostname');
    }
    const expected = Buffer.from(m.challenge, 'hex');
    if (req.challenge.length !== expected.length || !timingSafeEqual(req.challenge, expected)) {
      throw new AcsError(ACS_ERROR.MISMATCH_CERT, 'enrollment challenge does not match');
    }
    if (!m.challengeExpires || m.challengeExpires.getTime() < ctx.now().getTime()) {
      throw new AcsError(ACS_ERROR.CHALLENGE_EXPIRED, 'enrollment challenge expired; send enrollrequest again');
    }
    const ek = m.pendingEkcertificatepem ? new X509Certificate(m.pendingEkcertificatepem) : undefined;
    // Another hostname may have enrolled this EK since the enrollrequest was answered.
    await refuseEkEnrolledElsewhere(tx, ek ? spkiFingerprint(ek) : m.ekFingerprint, req.hostname);
    const akKey = publicKeyFromTpm(unmarshalPublic(Buffer.from(m.pendingAttestpub, 'hex')));
    const cert = ctx.ca.issueAkCertificate(req.hostname, akKey);
    const newAk = m.attestpub !== m.pendingAttestpub || !m.enrolled;
    const enrollment: MachinePatch = {
      ...(ek
        ? {
            tpmvendor: m.pendingTpmvendor ?? m.tpmvendor,
            ekcertificatepem: ek.toString(),
            ekcertificatetext: certificateText(ek),
            ekFingerprint: spkiFingerprint(ek),
            ekAlg: ekAlgorithm(ek),
          }
        : {}),
      pendingEkcertificatepem: null,
      pendingTpmvendor: null,
      challenge: null,
      challengeExpires: null,
      attestpub: m.pendingAttestpub,
      akName: m.pendingAkName,
      akAlg: m.pendingAkAlg,
      pendingAttestpub: null,
      pendingAkName: null,
      pendingAkAlg: null,
      akcertificatepem: cert.toString(),
      akcertificatetext: certificateText(cert),
      enrolled: ctx.now(),
      // A new AK starts a new history: the next quote is full and sets the white list.
      ...(newAk
        ? { boottime: null, imaevents: null, imapcr: null, imapcrSha1: null, whitelist: null, resetCount: null, restartCount: null, policyViolations: null }
        : {}),
    };
    await enrolledEkIsUnique(() => tx.updateMachine(m.id, enrollment));
    // A machine enrolling for the first time is judged by the default policies, unless assigned others already.
    if (!m.enrolled) await tx.assignDefaultPolicies(req.hostname, ctx.now());
    return { akcert: cert.toString() };
  });
}

const EK_ENROLLED_ELSEWHERE = 'this EK is already enrolled under another hostname';

/**
 * One EK, one enrolled hostname (DESIGN.md "Who may do what"): otherwise one
 * TPM could pass as several machines of the fleet. `--allow-reenroll` lets a
 * hostname change its EK, never an EK hold a second hostname.
 */
async function refuseEkEnrolledElsewhere(tx: StoreTx, ekFingerprint: string, hostname: string): Promise<void> {
  const other = (await tx.machinesByEkFingerprint(ekFingerprint)).find((m) => m.hostname !== hostname && m.enrolled);
  if (other) throw new AcsError(ACS_ERROR.ENROLLED, EK_ENROLLED_ELSEWHERE);
}

/** The unique key machines_enrolled_ek_uq refuses what a concurrent enrollcert committed after our check. */
async function enrolledEkIsUnique(write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (e) {
    if (e instanceof DuplicateKeyError && e.key === 'machines_enrolled_ek_uq') throw new AcsError(ACS_ERROR.ENROLLED, EK_ENROLLED_ELSEWHERE);
    throw e;
  }
}

function certificate<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    return certificateRefusal(e);
  }
}

function certificateRefusal(e: unknown): never {
  if (e instanceof CertificateError) throw new AcsError(ACS_ERROR.INVALID_CERT, e.message);
  throw e;
}

function akPublic(bytes: Buffer): TpmPublic {
  try {
    return unmarshalPublic(bytes);
  } catch (e) {
    if (e instanceof UnsupportedAlgorithmError) throw new AcsError(ACS_ERROR.BAD_ALGORITHM, `akpub: ${e.message}`);
    if (e instanceof MarshalError) throw new AcsError(ACS_ERROR.BAD_BLOB, `akpub: ${e.message}`);
    throw e;
  }
}

function ekAlgorithm(cert: X509Certificate): string {
  const d = cert.publicKey.asymmetricKeyDetails ?? {};
  if (cert.publicKey.asymmetricKeyType === 'rsa') return `rsa${d.modulusLength ?? ''}`;
  const curves: Record<string, string> = { prime256v1: 'ecc-p256', secp384r1: 'ecc-p384', secp521r1: 'ecc-p521' };
  return curves[d.namedCurve ?? ''] ?? `ecc-${d.namedCurve ?? 'unknown'}`;
}
