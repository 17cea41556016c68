/**
 * The attestation key: a restricted signing key under the storage root key
 * (SRK), created once at enrollment and kept as TPM2_Create blobs, then
 * loaded for each quote; and the credential activation that proves to the
 * server it lives in the same TPM as the EK (TPM 2.0 Part 1 §24).
 */
import { TPM_ALG, TPM_ECC, TPM_RH, TPMA_OBJECT } from '../shared/tpm/constants.js';
import { NULL_SYM, type TpmPublic } from '../shared/tpm/public.js';
import { authorizeEk } from './ek-policy.js';
import { passwordAuth } from './tpm/command.js';
import { activateCredential as tpmActivateCredential } from './tpm/commands/credential.js';
import {
  create,
  createPrimary,
  evictControl,
  flushContext,
  load,
  readPublic,
  withRelease,
  type KeyBlobs,
  type LoadedObject,
} from './tpm/commands/objects.js';
import { TpmError } from './tpm/response-code.js';
import type { Tpm } from './tpm/tpm.js';

/** The SRK's persistent handle, TCG TPM v2.0 Provisioning Guidance §7.8. */
export const SRK_HANDLE = 0x81000001;

export type KeyAlg = 'rsa' | 'ecc';

export class SrkError extends Error {
  override name = 'SrkError';
}

const NULL_SCHEME = { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL };
const AES_128_CFB = { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB };

const SRK_ATTRIBUTES =
  TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.sensitiveDataOrigin | TPMA_OBJECT.userWithAuth |
  TPMA_OBJECT.noDA | TPMA_OBJECT.restricted | TPMA_OBJECT.decrypt;

/** The SRK templates of the TCG TPM v2.0 Provisioning Guidance §7.5.1 (RSA 2048 / ECC P-256, AES-128-CFB). */
export function srkTemplate(alg: KeyAlg): TpmPublic {
  const common = { nameAlg: TPM_ALG.SHA256, objectAttributes: SRK_ATTRIBUTES, authPolicy: Buffer.alloc(0) };
  return alg === 'rsa'
    ? { ...common, type: TPM_ALG.RSA, parameters: { symmetric: AES_128_CFB, scheme: NULL_SCHEME, keyBits: 2048, exponent: 0 }, unique: { n: Buffer.alloc(0) } }
    : {
        ...common,
        type: TPM_ALG.ECC,
        parameters: { symmetric: AES_128_CFB, scheme: NULL_SCHEME, curveId: TPM_ECC.NIST_P256, kdf: NULL_SCHEME },
        unique: { x: Buffer.alloc(0), y: Buffer.alloc(0) },
      };
}

/**
 * The attributes the server requires of an AK: it signs only TPM-generated
 * data (restricted), never leaves this TPM (fixedTPM, fixedParent), was
 * generated inside it (sensitiveDataOrigin), and is used with its empty
 * authValue (userWithAuth).
 */
export const AK_ATTRIBUTES =
  TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.sensitiveDataOrigin | TPMA_OBJECT.userWithAuth |
  TPMA_OBJECT.restricted | TPMA_OBJECT.sign;

/** RSA-2048 RSASSA-SHA256 or ECC P-256 ECDSA-SHA256, nameAlg SHA-256. */
export function akTemplate(alg: KeyAlg): TpmPublic {
  const common = { nameAlg: TPM_ALG.SHA256, objectAttributes: AK_ATTRIBUTES, authPolicy: Buffer.alloc(0) };
  return alg === 'rsa'
    ? {
        ...common,
        type: TPM_ALG.RSA,
        parameters: { symmetric: { ...NULL_SYM }, scheme: { scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256 }, keyBits: 2048, exponent: 0 },
        unique: { n: Buffer.alloc(0) },
      }
    : {
        ...common,
        type: TPM_ALG.ECC,
        parameters: {
          symmetric: { ...NULL_SYM },
          scheme: { scheme: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256 },
          curveId: TPM_ECC.NIST_P256,
          kdf: NULL_SCHEME,
        },
        unique: { x: Buffer.alloc(0), y: Buffer.alloc(0) },
      };
}

/**
 * The persistent SRK at SRK_HANDLE, created from the standard template and
 * made persistent with TPM2_EvictControl when absent (owner authorization
 * with `ownerAuth`, empty by default).
 */
export async function ensureSrk(
  tpm: Tpm,
  alg: KeyAlg = 'ecc',
  ownerAuth?: Buffer,
): Promise<{ srk: LoadedObject; created: boolean }> {
  try {
    const srk = await readPublic(tpm, SRK_HANDLE);
    const need = TPMA_OBJECT.restricted | TPMA_OBJECT.decrypt;
    if ((srk.pub.objectAttributes & need) !== need) {
      throw new SrkError(`persistent object 0x${SRK_HANDLE.toString(16)} is not a storage key`);
    }
    return { srk, created: false };
  } catch (err) {
    if (!(err instanceof TpmError && err.is('TPM_RC_HANDLE'))) throw err;
  }
  const primary = await createPrimary(tpm, TPM_RH.OWNER, srkTemplate(alg), { hierarchyAuth: ownerAuth });
  await withRelease(() => evictControl(tpm, primary.handle, SRK_HANDLE, ownerAuth), () => flushContext(tpm, primary.handle));
  return { srk: { ...primary, handle: SRK_HANDLE }, created: true };
}

/** Creates an AK under the SRK; returns the blobs to store (not loaded). */
export function createAk(tpm: Tpm, alg: KeyAlg, srkHandle = SRK_HANDLE): Promise<KeyBlobs> {
  return create(tpm, srkHandle, akTemplate(alg));
}

/** Loads stored AK blobs under the SRK; the caller flushes the returned handle. */
export function loadAk(tpm: Tpm, blobs: KeyBlobs, srkHandle = SRK_HANDLE): Promise<LoadedObject> {
  return load(tpm, srkHandle, blobs);
}

/**
 * TPM2_ActivateCredential for the loaded AK with the loaded EK: the EK is
 * authorized by its policy (see ek-policy.ts), the AK by its empty password.
 * credentialBlob and secret are the server's TPM2B_ID_OBJECT and
 * TPM2B_ENCRYPTED_SECRET with their size prefixes. Returns the credential.
 */
export async function activateCredential(
  tpm: Tpm,
  ek: LoadedObject,
  ak: LoadedObject,
  credentialBlob: Buffer,
  secret: Buffer,
): Promise<Buffer> {
  const ekAuth = await authorizeEk(tpm, ek.pub);
  return withRelease(
    () => tpmActivateCredential(tpm, ak.handle, ek.handle, passwordAuth(), ekAuth.auth, credentialBlob, secret),
    ekAuth.release,
  );
}
