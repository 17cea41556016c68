/**
 * Quote checks that need cryptography: the AK's signature over TPMS_ATTEST
 * and the PCR digest a quote commits to (TPM 2.0 Part 3 §18.4 TPM2_Quote).
 */
import { constants, createHash, verify, type KeyObject } from 'node:crypto';
import { HASH_ALGS, TPM_ALG } from '../tpm/constants.js';
import { UnsupportedAlgorithmError, type TpmPublic } from '../tpm/public.js';
import type { TpmSignature } from '../tpm/signature.js';
import { curveInfo, publicKeyFromTpm } from './keys.js';

function hashName(alg: number): string {
  const h = HASH_ALGS.get(alg);
  if (!h) throw new UnsupportedAlgorithmError('hash', alg);
  return h.name;
}

/**
 * True when `sig` is the AK's signature over `quoted` (the marshaled
 * TPMS_ATTEST). The signature's scheme must suit the key type, and, when the
 * AK fixes a scheme in its public area (a restricted key must), equal it:
 * a signature under any other scheme was not made by that AK for a quote.
 */
export function verifyQuoteSignature(
  akPublic: TpmPublic,
  quoted: Uint8Array,
  sig: TpmSignature,
  /** The key of akPublic when the caller already has it (a verifier checking many quotes of one AK). */
  akKey?: KeyObject,
): boolean {
  const scheme = akPublic.parameters.scheme;
  if (scheme.scheme !== TPM_ALG.NULL && (scheme.scheme !== sig.sigAlg || scheme.hashAlg !== sig.hashAlg)) return false;
  const hash = HASH_ALGS.get(sig.hashAlg);
  if (!hash) return false;
  const key = akKey ?? publicKeyFromTpm(akPublic);
  try {
    return verifyWith(key, akPublic, hash.name, quoted, sig);
  } catch {
    // OpenSSL rejects some malformed signatures by throwing rather than returning false.
    return false;
  }
}

function verifyWith(key: KeyObject, akPublic: TpmPublic, hash: string, quoted: Uint8Array, sig: TpmSignature): boolean {
  if (akPublic.type === TPM_ALG.RSA) {
    if (sig.sigAlg === TPM_ALG.RSASSA) {
      return verify(hash, quoted, { key, padding: constants.RSA_PKCS1_PADDING }, sig.sig);
    }
    if (sig.sigAlg === TPM_ALG.RSAPSS) {
      // TPMs salt with as many bytes as the digest; AUTO recovers the length from the signature.
      return verify(hash, quoted, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig.sig);
    }
    return false;
  }
  if (sig.sigAlg !== TPM_ALG.ECDSA) return false;
  const size = curveInfo(akPublic.parameters.curveId).size;
  if (sig.r.length > size || sig.s.length > size) return false;
  const p1363 = Buffer.alloc(2 * size);
  sig.r.copy(p1363, size - sig.r.length);
  sig.s.copy(p1363, 2 * size - sig.s.length);
  return verify(hash, quoted, { key, dsaEncoding: 'ieee-p1363' }, p1363);
}

/**
 * The pcrDigest of TPMS_QUOTE_INFO: H_hashAlg over the selected PCR values
 * concatenated in selection order (see selectionOrder in pcr-selection.ts).
 * hashAlg is the signing scheme's hash, not the banks'.
 */
export function pcrDigest(hashAlg: number, values: readonly Uint8Array[]): Buffer {
  const h = createHash(hashName(hashAlg));
  for (const v of values) h.update(v);
  return h.digest();
}
