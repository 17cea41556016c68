/**
 * TPMT_SIGNATURE (TPM 2.0 Part 2 §11.3.4) for the schemes AKs use: RSASSA
 * and RSAPSS (TPMS_SIGNATURE_RSA, §11.3.1) and ECDSA (TPMS_SIGNATURE_ECC,
 * §11.3.2). Other sigAlg values are rejected with a typed error.
 */
import { BufferReader, BufferWriter } from './buffer.js';
import { TPM_ALG } from './constants.js';
import { UnsupportedAlgorithmError } from './public.js';
import { marshalWhole, unmarshalWhole } from './whole-structure.js';

export type TpmSignature =
  | { sigAlg: typeof TPM_ALG.RSASSA | typeof TPM_ALG.RSAPSS; hashAlg: number; sig: Buffer }
  | { sigAlg: typeof TPM_ALG.ECDSA; hashAlg: number; r: Buffer; s: Buffer };

const MAX_RSA_KEY_BYTES = 512;
const MAX_ECC_KEY_BYTES = 128;

export function readSignature(r: BufferReader): TpmSignature {
  const sigAlg = r.u16('TPMT_SIGNATURE.sigAlg');
  if (sigAlg === TPM_ALG.RSASSA || sigAlg === TPM_ALG.RSAPSS) {
    const hashAlg = r.u16('TPMS_SIGNATURE_RSA.hash');
    const sig = Buffer.from(r.tpm2b('TPMS_SIGNATURE_RSA.sig', MAX_RSA_KEY_BYTES));
    return { sigAlg, hashAlg, sig };
  }
  if (sigAlg === TPM_ALG.ECDSA) {
    const hashAlg = r.u16('TPMS_SIGNATURE_ECC.hash');
    const rr = Buffer.from(r.tpm2b('TPMS_SIGNATURE_ECC.signatureR', MAX_ECC_KEY_BYTES));
    const s = Buffer.from(r.tpm2b('TPMS_SIGNATURE_ECC.signatureS', MAX_ECC_KEY_BYTES));
    return { sigAlg, hashAlg, r: rr, s };
  }
  throw new UnsupportedAlgorithmError('TPMT_SIGNATURE.sigAlg', sigAlg);
}

export function writeSignature(w: BufferWriter, s: TpmSignature): void {
  w.u16(s.sigAlg).u16(s.hashAlg);
  if (s.sigAlg === TPM_ALG.ECDSA) w.tpm2b(s.r).tpm2b(s.s);
  else w.tpm2b(s.sig);
}

export function marshalSignature(s: TpmSignature): Buffer {
  return marshalWhole(s, 300, writeSignature);
}

export function unmarshalSignature(buf: Uint8Array): TpmSignature {
  return unmarshalWhole(buf, 'TPMT_SIGNATURE', readSignature);
}
