import { TPMA_OBJECT, TPM_ALG, TPM_ECC } from '../shared/tpm/constants.js';
import type { TpmPublic } from '../shared/tpm/public.js';
import { ACS_ERROR, AcsError } from '../shared/protocol/errors.js';

/**
 * The attestation key the server certifies: a restricted signing key that
 * cannot leave its TPM and signs only TPM-generated structures
 * (TPM 2.0 Part 1 §25.2 "restricted signing key", Part 2 §8.3 TPMA_OBJECT).
 * Attribute faults answer 90000024, algorithm faults 9000001e.
 */
const REQUIRED =
  TPMA_OBJECT.fixedTPM |
  TPMA_OBJECT.fixedParent |
  TPMA_OBJECT.sensitiveDataOrigin |
  TPMA_OBJECT.userWithAuth |
  TPMA_OBJECT.restricted |
  TPMA_OBJECT.sign;

const ATTRIBUTE_NAMES: [number, string][] = [
  [TPMA_OBJECT.fixedTPM, 'fixedTPM'],
  [TPMA_OBJECT.fixedParent, 'fixedParent'],
  [TPMA_OBJECT.sensitiveDataOrigin, 'sensitiveDataOrigin'],
  [TPMA_OBJECT.userWithAuth, 'userWithAuth'],
  [TPMA_OBJECT.restricted, 'restricted'],
  [TPMA_OBJECT.sign, 'sign'],
];

export type AkAlgorithm = 'rsa' | 'ecc';

export function checkAkPublic(ak: TpmPublic): AkAlgorithm {
  const missing = ATTRIBUTE_NAMES.filter(([bit]) => (ak.objectAttributes & bit) === 0).map(([, n]) => n);
  if (missing.length > 0 || (ak.objectAttributes & REQUIRED) !== REQUIRED) {
    throw new AcsError(ACS_ERROR.INVALID_KEY, `attestation key lacks ${missing.join(', ')}`);
  }
  if (ak.objectAttributes & TPMA_OBJECT.decrypt) {
    throw new AcsError(ACS_ERROR.INVALID_KEY, 'attestation key can decrypt');
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

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}
