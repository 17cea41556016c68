/**
 * Conversion between TPM public areas and Node KeyObjects, so that TPM keys
 * can be checked against X.509 certificates and used with node:crypto.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { TPM_ALG, TPM_ECC } from '../tpm/constants.js';
import { UnsupportedAlgorithmError, type EccPoint, type TpmPublic } from '../tpm/public.js';

/** A public key that cannot be turned into a usable key (off-curve point, bad modulus, wrong key type). */
export class KeyError extends Error {
  override name = 'KeyError';
}

/** The NIST curves: TPM_ECC_CURVE (Part 2 §6.4) to JWK name and coordinate size. */
export const ECC_CURVES: ReadonlyMap<number, { jwk: 'P-256' | 'P-384' | 'P-521'; size: number }> = new Map([
  [TPM_ECC.NIST_P256, { jwk: 'P-256', size: 32 }],
  [TPM_ECC.NIST_P384, { jwk: 'P-384', size: 48 }],
  [TPM_ECC.NIST_P521, { jwk: 'P-521', size: 66 }],
] as const);

export function curveInfo(curveId: number): { jwk: 'P-256' | 'P-384' | 'P-521'; size: number } {
  const c = ECC_CURVES.get(curveId);
  if (!c) throw new UnsupportedAlgorithmError('TPMS_ECC_PARMS.curveID', curveId);
  return c;
}

/** Left-pads a big-endian integer to `size` bytes (TPMs may drop leading zero bytes). */
function pad(b: Buffer, size: number): Buffer {
  if (b.length > size) throw new KeyError(`coordinate of ${b.length} bytes exceeds ${size}`);
  return b.length === size ? b : Buffer.concat([Buffer.alloc(size - b.length), b]);
}

function stripZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function u32be(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** The public key of a TPM RSA or ECC object. RSA exponent 0 is 65537 (Part 2 §12.2.3.5). */
export function publicKeyFromTpm(pub: TpmPublic): KeyObject {
  let jwk: JsonWebKey;
  if (pub.type === TPM_ALG.RSA) {
    if (pub.unique.n.length === 0) throw new KeyError('RSA public area without a modulus');
    const e = stripZeros(u32be(pub.parameters.exponent === 0 ? 65537 : pub.parameters.exponent));
    jwk = { kty: 'RSA', n: stripZeros(pub.unique.n).toString('base64url'), e: e.toString('base64url') };
  } else {
    const c = curveInfo(pub.parameters.curveId);
    jwk = {
      kty: 'EC',
      crv: c.jwk,
      x: pad(pub.unique.x, c.size).toString('base64url'),
      y: pad(pub.unique.y, c.size).toString('base64url'),
    };
  }
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    throw new KeyError(`invalid ${jwk.kty} public key: ${(err as Error).message}`);
  }
}

/** The TPMU_PUBLIC_ID a TPM would report for this key: { n } for RSA, { x, y } at curve size for ECC. */
export function uniqueFromKey(key: KeyObject): { n: Buffer; exponent: number } | { curveId: number; point: EccPoint } {
  if (key.type !== 'public' && key.type !== 'private') throw new KeyError(`not an asymmetric key: ${key.type}`);
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty === 'RSA' && jwk.n && jwk.e) {
    const e = Buffer.from(jwk.e, 'base64url');
    if (e.length > 4) throw new KeyError('RSA exponent does not fit a UINT32');
    return { n: Buffer.from(jwk.n, 'base64url'), exponent: e.readUIntBE(0, e.length) };
  }
  if (jwk.kty === 'EC' && jwk.x && jwk.y) {
    for (const [curveId, c] of ECC_CURVES) {
      if (c.jwk === jwk.crv) {
        return { curveId, point: { x: pad(Buffer.from(jwk.x, 'base64url'), c.size), y: pad(Buffer.from(jwk.y, 'base64url'), c.size) } };
      }
    }
    throw new KeyError(`unsupported curve ${jwk.crv}`);
  }
  throw new KeyError(`unsupported key type ${jwk.kty}`);
}

/** True when `key` (e.g. an X.509 certificate's key) is the public key of `pub`. */
export function keyMatchesPublic(key: KeyObject, pub: TpmPublic): boolean {
  let mine: KeyObject;
  try {
    mine = publicKeyFromTpm(pub);
  } catch {
    return false;
  }
  const theirs = key.type === 'private' ? createPublicKey(key) : key;
  return theirs.type === 'public' && theirs.equals(mine);
}

/**
 * `template` with its unique field (and RSA exponent) taken from `key`: the
 * TPMT_PUBLIC a TPM reports for that key, e.g. an EK certificate's key put
 * into its EK template, or a software key made to look like a TPM AK.
 */
export function publicWithKey(template: TpmPublic, key: KeyObject): TpmPublic {
  const u = uniqueFromKey(key);
  if (template.type === TPM_ALG.RSA) {
    if (!('n' in u)) throw new KeyError('template is RSA, key is not');
    if (u.n.length * 8 !== template.parameters.keyBits) {
      throw new KeyError(`RSA key of ${u.n.length * 8} bits for a ${template.parameters.keyBits}-bit template`);
    }
    // Keep the template's encoding (0 or 65537) when it denotes the key's exponent: the Name depends on it.
    const effective = template.parameters.exponent === 0 ? 65537 : template.parameters.exponent;
    const exponent = u.exponent === effective ? template.parameters.exponent : u.exponent;
    return { ...template, parameters: { ...template.parameters, exponent }, unique: { n: u.n } };
  }
  if (!('point' in u) || u.curveId !== template.parameters.curveId) throw new KeyError('key is not on the template curve');
  return { ...template, unique: u.point };
}
