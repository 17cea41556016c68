/**
 * TPMT_PUBLIC and TPM2B_PUBLIC (TPM 2.0 Part 2 §12.2.4, §12.2.5) for the
 * asymmetric object types the product handles: RSA and ECC keys (EKs, AKs).
 * KEYEDHASH and SYMCIPHER objects are recognised and rejected with a typed
 * error, as is any algorithm whose union layout is not known here: a parser
 * that guessed a layout would misread every field after it.
 */
import { BufferReader, BufferWriter, MarshalError } from './buffer.js';
import { TPM_ALG } from './constants.js';
import { readDigest2b } from './tpm2b.js';
import { marshalWhole, unmarshalWhole } from './whole-structure.js';

/** An algorithm identifier this code does not accept in the field it was found in. */
export class UnsupportedAlgorithmError extends MarshalError {
  override name = 'UnsupportedAlgorithmError';
  constructor(readonly field: string, readonly alg: number) {
    super(`unsupported ${field} 0x${alg.toString(16).padStart(4, '0')}`);
  }
}

/** The block modes of TPMI_ALG_SYM_MODE (Part 2). */
const SYM_MODES = new Set<number>([TPM_ALG.CTR, TPM_ALG.OFB, TPM_ALG.CBC, TPM_ALG.CFB, TPM_ALG.ECB]);

/**
 * TPMT_SYM_DEF_OBJECT (Part 2 §11.1.7). When algorithm is TPM_ALG_NULL the
 * other fields are not marshaled; they read back as 0 and TPM_ALG_NULL.
 */
export interface SymDefObject {
  algorithm: number;
  keyBits: number;
  mode: number;
}

/**
 * TPMT_RSA_SCHEME / TPMT_ECC_SCHEME / TPMT_KDF_SCHEME (Part 2 §11.2.4.2,
 * §11.2.5.6, §11.2.3.3). hashAlg is TPM_ALG_NULL when the scheme carries no
 * hash (NULL, RSAES); count is the ECDAA commit count.
 */
export interface Scheme {
  scheme: number;
  hashAlg: number;
  count?: number;
}

/** TPMS_RSA_PARMS, Part 2 §12.2.3.5. exponent 0 means the default 65537. */
export interface RsaParms {
  symmetric: SymDefObject;
  scheme: Scheme;
  keyBits: number;
  exponent: number;
}

/** TPMS_ECC_PARMS, Part 2 §12.2.3.6. */
export interface EccParms {
  symmetric: SymDefObject;
  scheme: Scheme;
  curveId: number;
  kdf: Scheme;
}

/** The TPMT_PUBLIC fields whose layout does not depend on the object type. */
export interface PublicCommon {
  nameAlg: number;
  objectAttributes: number;
  authPolicy: Buffer;
}

export interface RsaPublic extends PublicCommon {
  type: typeof TPM_ALG.RSA;
  parameters: RsaParms;
  unique: { n: Buffer };
}

export interface EccPublic extends PublicCommon {
  type: typeof TPM_ALG.ECC;
  parameters: EccParms;
  unique: EccPoint;
}

export type TpmPublic = RsaPublic | EccPublic;

/** Size bounds, Part 2 §11.2.4.5 (MAX_RSA_KEY_BYTES) and §11.2.5.1 (ECC parameters, with room above P-521). */
const MAX_RSA_KEY_BYTES = 512;
const MAX_ECC_KEY_BYTES = 128;

export const NULL_SYM: SymDefObject = Object.freeze({ algorithm: TPM_ALG.NULL, keyBits: 0, mode: TPM_ALG.NULL });

function readSymDefObject(r: BufferReader): SymDefObject {
  const algorithm = r.u16('TPMT_SYM_DEF_OBJECT.algorithm');
  if (algorithm === TPM_ALG.NULL) return { ...NULL_SYM };
  if (algorithm !== TPM_ALG.AES && algorithm !== TPM_ALG.SM4 && algorithm !== TPM_ALG.CAMELLIA) {
    throw new UnsupportedAlgorithmError('TPMT_SYM_DEF_OBJECT.algorithm', algorithm);
  }
  const keyBits = r.u16('TPMT_SYM_DEF_OBJECT.keyBits');
  const mode = r.u16('TPMT_SYM_DEF_OBJECT.mode');
  if (!SYM_MODES.has(mode) && mode !== TPM_ALG.NULL) {
    throw new UnsupportedAlgorithmError('TPMT_SYM_DEF_OBJECT.mode', mode);
  }
  return { algorithm, keyBits, mode };
}

function writeSymDefObject(w: BufferWriter, s: SymDefObject): void {
  w.u16(s.algorithm);
  if (s.algorithm !== TPM_ALG.NULL) w.u16(s.keyBits).u16(s.mode);
}

/** Schemes whose details are empty (Part 2 §11.2.3.2 TPMS_EMPTY for RSAES). */
const NO_HASH_SCHEMES = new Set<number>([TPM_ALG.NULL, TPM_ALG.RSAES]);
const RSA_SCHEMES = new Set<number>([TPM_ALG.NULL, TPM_ALG.RSASSA, TPM_ALG.RSAPSS, TPM_ALG.RSAES, TPM_ALG.OAEP]);
const ECC_SCHEMES = new Set<number>([
  TPM_ALG.NULL, TPM_ALG.ECDSA, TPM_ALG.ECDH, TPM_ALG.ECDAA, TPM_ALG.ECSCHNORR, TPM_ALG.SM2, TPM_ALG.ECMQV,
]);
const KDF_SCHEMES = new Set<number>([TPM_ALG.NULL, TPM_ALG.MGF1, TPM_ALG.KDF1_SP800_56A, TPM_ALG.KDF2, TPM_ALG.KDF1_SP800_108]);

function readScheme(r: BufferReader, field: string, allowed: ReadonlySet<number>): Scheme {
  const scheme = r.u16(`${field}.scheme`);
  if (!allowed.has(scheme)) throw new UnsupportedAlgorithmError(`${field}.scheme`, scheme);
  if (NO_HASH_SCHEMES.has(scheme)) return { scheme, hashAlg: TPM_ALG.NULL };
  const hashAlg = r.u16(`${field}.hashAlg`);
  if (scheme === TPM_ALG.ECDAA) return { scheme, hashAlg, count: r.u16(`${field}.count`) };
  return { scheme, hashAlg };
}

function writeScheme(w: BufferWriter, s: Scheme): void {
  w.u16(s.scheme);
  if (NO_HASH_SCHEMES.has(s.scheme)) return;
  w.u16(s.hashAlg);
  if (s.scheme === TPM_ALG.ECDAA) w.u16(s.count ?? 0);
}

/** TPMS_ECC_POINT, Part 2 §11.2.5.2: two TPM2B_ECC_PARAMETER coordinates. */
export interface EccPoint {
  x: Buffer;
  y: Buffer;
}

export function readEccPoint(r: BufferReader): EccPoint {
  const x = Buffer.from(r.tpm2b('TPMS_ECC_POINT.x', MAX_ECC_KEY_BYTES));
  const y = Buffer.from(r.tpm2b('TPMS_ECC_POINT.y', MAX_ECC_KEY_BYTES));
  return { x, y };
}

export function writeEccPoint(w: BufferWriter, p: EccPoint): void {
  w.tpm2b(p.x).tpm2b(p.y);
}

/** Reads one TPMT_PUBLIC from r (for structures that embed it). */
export function readPublic(r: BufferReader): TpmPublic {
  const type = r.u16('TPMT_PUBLIC.type');
  if (type !== TPM_ALG.RSA && type !== TPM_ALG.ECC) {
    // KEYEDHASH and SYMCIPHER objects have no public key to attest or encrypt to.
    throw new UnsupportedAlgorithmError('TPMT_PUBLIC.type', type);
  }
  const nameAlg = r.u16('TPMT_PUBLIC.nameAlg');
  const objectAttributes = r.u32('TPMT_PUBLIC.objectAttributes');
  const authPolicy = readDigest2b(r, 'TPMT_PUBLIC.authPolicy');
  const symmetric = readSymDefObject(r);
  if (type === TPM_ALG.RSA) {
    const scheme = readScheme(r, 'TPMT_RSA_SCHEME', RSA_SCHEMES);
    const keyBits = r.u16('TPMS_RSA_PARMS.keyBits');
    const exponent = r.u32('TPMS_RSA_PARMS.exponent');
    const n = Buffer.from(r.tpm2b('TPM2B_PUBLIC_KEY_RSA', MAX_RSA_KEY_BYTES));
    return { type, nameAlg, objectAttributes, authPolicy, parameters: { symmetric, scheme, keyBits, exponent }, unique: { n } };
  }
  const scheme = readScheme(r, 'TPMT_ECC_SCHEME', ECC_SCHEMES);
  const curveId = r.u16('TPMS_ECC_PARMS.curveID');
  const kdf = readScheme(r, 'TPMT_KDF_SCHEME', KDF_SCHEMES);
  const unique = readEccPoint(r);
  return { type, nameAlg, objectAttributes, authPolicy, parameters: { symmetric, scheme, curveId, kdf }, unique };
}

export function writePublic(w: BufferWriter, p: TpmPublic): void {
  w.u16(p.type).u16(p.nameAlg).u32(p.objectAttributes).tpm2b(p.authPolicy);
  writeSymDefObject(w, p.parameters.symmetric);
  writeScheme(w, p.parameters.scheme);
  if (p.type === TPM_ALG.RSA) {
    w.u16(p.parameters.keyBits).u32(p.parameters.exponent).tpm2b(p.unique.n);
  } else {
    w.u16(p.parameters.curveId);
    writeScheme(w, p.parameters.kdf);
    writeEccPoint(w, p.unique);
  }
}

/** TPMT_PUBLIC bytes (no size prefix), e.g. IBM ACS `akpub`. */
export function marshalPublic(p: TpmPublic): Buffer {
  return marshalWhole(p, 512, writePublic);
}

/** Parses TPMT_PUBLIC bytes (no size prefix); the whole buffer must be consumed. */
export function unmarshalPublic(buf: Uint8Array): TpmPublic {
  return unmarshalWhole(buf, 'TPMT_PUBLIC', readPublic);
}

/** TPM2B_PUBLIC: UINT16 size, then a TPMT_PUBLIC of exactly that size (Part 2 §12.2.5). */
export function readPublic2b(r: BufferReader): { pub: TpmPublic; bytes: Buffer } {
  const bytes = r.tpm2b('TPM2B_PUBLIC');
  return { pub: unmarshalPublic(bytes), bytes: Buffer.from(bytes) };
}

export function writePublic2b(w: BufferWriter, p: TpmPublic): void {
  w.tpm2b(marshalPublic(p));
}

export function unmarshalPublic2b(buf: Uint8Array): TpmPublic {
  return unmarshalWhole(buf, 'TPM2B_PUBLIC', (r) => readPublic2b(r).pub);
}

export function marshalPublic2b(p: TpmPublic): Buffer {
  return marshalWhole(p, 512, writePublic2b);
}
