/**
 * Which attestation keys the server certifies: attribute and algorithm
 * checks on an AK's TPMT_PUBLIC at enrollment.
 */
import { TPMA_OBJECT, TPM_ALG, TPM_ECC } from '../shared/tpm/constants.js';
import type { TpmPublic } from '../shared/tpm/public.js';
import { ACS_ERROR, AcsError } from '../shared/protocol/errors.js';

/**
 * The attestation key the server certifies: a restricted signing key that
 * cannot leave its TPM and signs only TPM-generated structures
 * (TPM 2.0 Part 1 §25.2 "restricted signing key", Part 2 §8.3 TPMA_OBJECT),
 * as the TCG "TPM 2.0 Keys for Device Identity and Attestation" profile and
 * IBM ACS's and tpm2-tools' AK templates make it:
 * - fixedTPM, fixedParent: never duplicated out of this TPM;
 * - sensitiveDataOrigin: its private part was generated inside the TPM;
 * - restricted + sign: it signs only digests the TPM computed itself
 *   (a quote cannot be forged by signing chosen data), and never decrypts;
 * - userWithAuth and no adminWithPolicy, with an empty authPolicy: every use
 *   is authorized by the key's authValue, never by a policy the server cannot
 *   see or judge.
 * Attribute faults answer 90000024 and name the attribute; algorithm faults 9000001e.
 */
const REQUIRED: [number, string][] = [
  [TPMA_OBJECT.fixedTPM, 'fixedTPM'],
  [TPMA_OBJECT.fixedParent, 'fixedParent'],
  [TPMA_OBJECT.sensitiveDataOrigin, 'sensitiveDataOrigin'],
  [TPMA_OBJECT.userWithAuth, 'userWithAuth'],
  [TPMA_OBJECT.restricted, 'restricted'],
  [TPMA_OBJECT.sign, 'sign'],
];

const FORBIDDEN: [number, string][] = [
  [TPMA_OBJECT.adminWithPolicy, 'adminWithPolicy'],
  [TPMA_OBJECT.decrypt, 'decrypt'],
];

export type AkAlgorithm = 'rsa' | 'ecc';

export function checkAkPublic(ak: TpmPublic): AkAlgorithm {
  const missing = REQUIRED.filter(([bit]) => (ak.objectAttributes & bit) === 0).map(([, n]) => n);
  if (missing.length > 0) {
    throw new AcsError(ACS_ERROR.INVALID_KEY, `attestation key lacks ${missing.join(', ')} (TPMA_OBJECT 0x${hex8(ak.objectAttributes)})`);
  }
  const extra = FORBIDDEN.filter(([bit]) => (ak.objectAttributes & bit) !== 0).map(([, n]) => n);
  if (extra.length > 0) {
    throw new AcsError(ACS_ERROR.INVALID_KEY, `attestation key sets ${extra.join(', ')} (TPMA_OBJECT 0x${hex8(ak.objectAttributes)})`);
  }
  if (ak.authPolicy.length > 0) {
    throw new AcsError(ACS_ERROR.INVALID_KEY, 'attestation key has an authPolicy; only an empty one is accepted');
  }
  if (ak.nameAlg !== TPM_ALG.SHA256) {
    throw new AcsError(ACS_ERROR.BAD_ALGORITHM, `attestation key nameAlg 0x${hex4(ak.nameAlg)} is not SHA-256`);
  }
  const { scheme } = ak.parameters;
  if (ak.type === TPM_ALG.RSA) {
    if (ak.parameters.keyBits !== 2048) {
      throw new AcsError(ACS_ERROR.BAD_ALGORITHM, `RSA attestation key of ${ak.parameters.keyBits} bits; 2048 required`);
    }
    if (scheme.scheme !== TPM_ALG.RSASSA || scheme.hashAlg !== TPM_ALG.SHA256) {
      throw new AcsError(ACS_ERROR.BAD_ALGORITHM, 'RSA attestation key scheme must be RSASSA-SHA256');
    }
    return 'rsa';
  }
  if (ak.parameters.curveId !== TPM_ECC.NIST_P256) {
    throw new AcsError(ACS_ERROR.BAD_ALGORITHM, `ECC attestation key curve 0x${hex4(ak.parameters.curveId)} is not NIST P-256`);
  }
  if (scheme.scheme !== TPM_ALG.ECDSA || scheme.hashAlg !== TPM_ALG.SHA256) {
    throw new AcsError(ACS_ERROR.BAD_ALGORITHM, 'ECC attestation key scheme must be ECDSA-SHA256');
  }
  return 'ecc';
}

function hex8(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}
