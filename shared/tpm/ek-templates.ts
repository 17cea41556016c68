/**
 * The default EK templates of the TCG EK Credential Profile for TPM Family
 * 2.0 (v2.5, §2.2.1.4-§2.2.1.5 and Annex B.3/B.4), with the NV index where
 * each template's certificate lives. A client recreates the EK with
 * TPM2_CreatePrimary(TPM_RH_ENDORSEMENT, template) and gets the key that is
 * in the certificate; the server needs the template's nameAlg and symmetric
 * key size (the "EK class") to run MakeCredential for it.
 *
 * Debian's swtpm_setup --create-ek-cert provisions L-1 (RSA 2048, certificate
 * at 0x01c00002) and H-3 (ECC NIST P-384, certificate at 0x01c00016);
 * --rsa-keysize 3072 gives H-6. H-5 (SM2) is left out: Node has no SM2/SM4.
 */
import type { KeyObject } from 'node:crypto';
import { TPM_ALG, TPM_ECC, TPMA_OBJECT } from './constants.js';
import type { EccPublic, PublicCommon, RsaPublic, TpmPublic } from './public.js';

/**
 * PolicyA: TPM2_PolicySecret(TPM_RH_ENDORSEMENT), the low-range authPolicy
 * (EK Credential Profile Annex B.3.2). SHA-256 only.
 */
export const POLICY_A_SHA256 = Buffer.from('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa', 'hex');

/**
 * PolicyB: TPM2_PolicyOR(PolicyA, PolicyC), PolicyC being
 * TPM2_PolicyAuthorizeNV of the policy NV index 0x01c07f01/02/03; the
 * high-range authPolicy (EK Credential Profile Annex B.6.5), per nameAlg.
 */
export const POLICY_B: Readonly<Record<'sha256' | 'sha384' | 'sha512', Buffer>> = {
  sha256: Buffer.from('ca3d0a99a2b93906f7a3342414efcfb3a385d44cd1fd459089d19b5071c0b7a0', 'hex'),
  sha384: Buffer.from(
    'b26e7d28d11a50bc53d882bcf5fd3a1a074148bb35d3b4e4cb1c0ad9bde419cacb47ba09699646150f9fc000f3f80e12',
    'hex',
  ),
  sha512: Buffer.from(
    'b8221ca69e8550a4914de3faa6a18c072cc01208073a928d5d66d59ef79e49a4' +
      '29c41a6b269571d57edb25fbdb1838425608b413cd616a5f6db5b6071af99bea',
    'hex',
  ),
};

/** fixedTPM, fixedParent, sensitiveDataOrigin, adminWithPolicy, restricted, decrypt: 0x000300b2. */
const LOW_ATTRIBUTES =
  TPMA_OBJECT.fixedTPM |
  TPMA_OBJECT.fixedParent |
  TPMA_OBJECT.sensitiveDataOrigin |
  TPMA_OBJECT.adminWithPolicy |
  TPMA_OBJECT.restricted |
  TPMA_OBJECT.decrypt;
/** The high range adds userWithAuth: 0x000300f2. */
const HIGH_ATTRIBUTES = LOW_ATTRIBUTES | TPMA_OBJECT.userWithAuth;

export type EkTemplateId = 'L-1' | 'L-2' | 'H-1' | 'H-2' | 'H-3' | 'H-4' | 'H-6' | 'H-7';

export interface EkTemplate {
  id: EkTemplateId;
  description: string;
  /** NV index of the EK certificate for this template. */
  certIndex: number;
  /** The TPMT_PUBLIC to pass to TPM2_CreatePrimary; unique is zero-filled (low range) or empty (high range). */
  template: TpmPublic;
  /** nameAlg and AES key size, what MakeCredential depends on. */
  ekClass: { nameAlg: number; symKeyBits: number };
}

function aesCfb(bits: number) {
  return { algorithm: TPM_ALG.AES, keyBits: bits, mode: TPM_ALG.CFB };
}

const NULL_SCHEME = { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL };

/** The key-type part of a template: its type, parameters and unique field. */
type KeyPart = Omit<RsaPublic, keyof PublicCommon> | Omit<EccPublic, keyof PublicCommon>;

/**
 * A template around its key part: the range decides the attributes and
 * policy (low: policy A; high: policy B of the name algorithm, userWithAuth).
 */
function ekTemplate(id: EkTemplateId, certIndex: number, description: string, nameAlg: number, symBits: number, low: boolean, key: KeyPart): EkTemplate {
  const common: PublicCommon = {
    nameAlg,
    objectAttributes: low ? LOW_ATTRIBUTES : HIGH_ATTRIBUTES,
    authPolicy: low ? POLICY_A_SHA256 : policyB(nameAlg),
  };
  const { type, ...keyFields } = key;
  return { id, description, certIndex, template: { type, ...common, ...keyFields } as TpmPublic, ekClass: { nameAlg, symKeyBits: symBits } };
}

function rsa(id: EkTemplateId, certIndex: number, keyBits: number, nameAlg: number, symBits: number, low: boolean): EkTemplate {
  return ekTemplate(id, certIndex, `RSA ${keyBits}`, nameAlg, symBits, low, {
    type: TPM_ALG.RSA,
    parameters: { symmetric: aesCfb(symBits), scheme: NULL_SCHEME, keyBits, exponent: 0 },
    unique: { n: Buffer.alloc(low ? keyBits / 8 : 0) },
  });
}

function ecc(id: EkTemplateId, certIndex: number, curveId: number, size: number, nameAlg: number, symBits: number, low: boolean): EkTemplate {
  const description = `ECC NIST P-${curveId === TPM_ECC.NIST_P521 ? 521 : size * 8}`;
  return ekTemplate(id, certIndex, description, nameAlg, symBits, low, {
    type: TPM_ALG.ECC,
    parameters: { symmetric: aesCfb(symBits), scheme: NULL_SCHEME, curveId, kdf: NULL_SCHEME },
    unique: { x: Buffer.alloc(low ? size : 0), y: Buffer.alloc(low ? size : 0) },
  });
}

function policyB(nameAlg: number): Buffer {
  if (nameAlg === TPM_ALG.SHA256) return POLICY_B.sha256;
  if (nameAlg === TPM_ALG.SHA384) return POLICY_B.sha384;
  return POLICY_B.sha512;
}

const { SHA256, SHA384, SHA512 } = TPM_ALG;

/** Low range first: for RSA 2048 and P-256 it is the one TPMs and swtpm provision. */
export const EK_TEMPLATES: readonly EkTemplate[] = Object.freeze([
  rsa('L-1', 0x01c00002, 2048, SHA256, 128, true),
  ecc('L-2', 0x01c0000a, TPM_ECC.NIST_P256, 32, SHA256, 128, true),
  rsa('H-1', 0x01c00012, 2048, SHA256, 128, false),
  ecc('H-2', 0x01c00014, TPM_ECC.NIST_P256, 32, SHA256, 128, false),
  ecc('H-3', 0x01c00016, TPM_ECC.NIST_P384, 48, SHA384, 256, false),
  ecc('H-4', 0x01c00018, TPM_ECC.NIST_P521, 66, SHA512, 256, false),
  rsa('H-6', 0x01c0001c, 3072, SHA384, 256, false),
  rsa('H-7', 0x01c0001e, 4096, SHA384, 256, false),
]);

/** The key is of no type any default EK template produces. */
export class UnknownEkKeyError extends Error {
  override name = 'UnknownEkKeyError';
  constructor(readonly keyDescription: string) {
    super(`no TCG default EK template for a ${keyDescription} key`);
  }
}

function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') return `RSA ${d.modulusLength ?? '?'}`;
  if (key.asymmetricKeyType === 'ec') return `EC ${d.namedCurve ?? '?'}`;
  return String(key.asymmetricKeyType ?? key.type);
}

const CURVE_OIDS: Readonly<Record<string, number>> = {
  prime256v1: TPM_ECC.NIST_P256,
  secp384r1: TPM_ECC.NIST_P384,
  secp521r1: TPM_ECC.NIST_P521,
};

function fits(t: EkTemplate, key: KeyObject): boolean {
  const d = key.asymmetricKeyDetails ?? {};
  if (t.template.type === TPM_ALG.RSA) {
    // A default template has exponent 0, i.e. 65537 (Part 2 §12.2.3.5).
    return key.asymmetricKeyType === 'rsa' && d.modulusLength === t.template.parameters.keyBits && d.publicExponent === 65537n;
  }
  return key.asymmetricKeyType === 'ec' && CURVE_OIDS[d.namedCurve ?? ''] === t.template.parameters.curveId;
}

/**
 * The template an EK certificate's key was made from. certIndex (the NV
 * index the certificate was read from) settles L-1 vs H-1 and L-2 vs H-2;
 * without it the low-range template is chosen. Both members of such a pair
 * have the same EK class, so MakeCredential does not depend on the choice.
 */
export function ekTemplateForKey(key: KeyObject, certIndex?: number): EkTemplate {
  const candidates = EK_TEMPLATES.filter((t) => fits(t, key));
  const chosen = candidates.find((t) => t.certIndex === certIndex) ?? candidates[0];
  if (!chosen) throw new UnknownEkKeyError(describeKey(key));
  return chosen;
}

export function ekTemplateByCertIndex(certIndex: number): EkTemplate | undefined {
  return EK_TEMPLATES.find((t) => t.certIndex === certIndex);
}
