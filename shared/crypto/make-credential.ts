/**
 * Software TPM2_MakeCredential and its inverse (TPM 2.0 Part 1 §24
 * "Credential Protection", Part 3 §12.5 ActivateCredential and §12.6
 * MakeCredential). The server runs makeCredential against the EK public key
 * from the EK certificate, so only the TPM holding that EK and an object named
 * akName can recover the credential. activateCredential is the same
 * computation done with the EK private key, for tests and software attesters.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { BufferReader, BufferWriter, MarshalError } from '../tpm/buffer.js';
import { HASH_ALGS, TPM_ALG } from '../tpm/constants.js';
import { readEccPoint, writeEccPoint, UnsupportedAlgorithmError, type TpmPublic } from '../tpm/public.js';
import {
  marshalEncryptedSecret,
  marshalIdObject,
  readDigest2b,
  unmarshalEncryptedSecret,
  unmarshalIdObject,
} from '../tpm/tpm2b.js';
import { kdfa, kdfe } from './kdf.js';
import { KeyError, uniqueFromKey, publicKeyFromTpm } from './keys.js';

/**
 * What the credential protection depends on besides the key itself: the EK's
 * nameAlg (seed size, KDF and HMAC hash, OAEP hash) and the key size of its
 * AES-CFB symmetric definition (TCG EK Credential Profile: SHA-256/AES-128
 * for the low-range templates, SHA-384/AES-256 for P-384 and RSA-3072).
 */
export interface EkClass {
  nameAlg: number;
  symKeyBits: number;
}

/** An EK given as a certificate key plus its class instead of a TPMT_PUBLIC. */
export interface EkKey extends EkClass {
  key: KeyObject;
}

export interface MadeCredential {
  /** TPM2B_ID_OBJECT, with its size prefix (IBM ACS `credentialblob`). */
  credentialBlob: Buffer;
  /** TPM2B_ENCRYPTED_SECRET, with its size prefix (IBM ACS `secret`). */
  secret: Buffer;
}

/** Activation failed: the blob was not made for this EK and name, or is malformed. */
export class CredentialError extends Error {
  override name = 'CredentialError';
  constructor(readonly reason: 'secret' | 'integrity' | 'format', message: string) {
    super(message);
  }
}

const IDENTITY = 'IDENTITY';
const AES_KEY_BITS = new Set([128, 192, 256]);

function classOf(ek: TpmPublic | EkKey): EkKey {
  if ('key' in ek) return ek;
  const sym = ek.parameters.symmetric;
  if (sym.algorithm !== TPM_ALG.AES || sym.mode !== TPM_ALG.CFB) {
    throw new UnsupportedAlgorithmError('EK symmetric algorithm (AES-CFB required)', sym.algorithm);
  }
  return { key: publicKeyFromTpm(ek), nameAlg: ek.nameAlg, symKeyBits: sym.keyBits };
}

function hashOf(nameAlg: number): { name: string; size: number } {
  const h = HASH_ALGS.get(nameAlg);
  if (!h) throw new UnsupportedAlgorithmError('EK nameAlg', nameAlg);
  return h;
}

function checkSymBits(bits: number): void {
  if (!AES_KEY_BITS.has(bits)) throw new RangeError(`AES key of ${bits} bits`);
}

/** "IDENTITY" with its NUL, the OAEP label for credential seeds (Part 1 §24.2, Annex B.10). */
const OAEP_LABEL = Buffer.from('IDENTITY\0', 'latin1');

/** The EC public point of a key, padded to the curve size, as the TPM holds it in unique.ecc. */
function eccPoint(key: KeyObject): { curveJwk: string; x: Buffer; y: Buffer } {
  const u = uniqueFromKey(key);
  if (!('point' in u)) throw new KeyError('expected an EC key');
  const jwk = key.export({ format: 'jwk' });
  return { curveJwk: String(jwk.crv), x: u.point.x, y: u.point.y };
}

/** Seed and TPM2B_ENCRYPTED_SECRET contents for the EK (Part 1 Annex B.10 RSA, Annex C.6 ECC). */
function protectSeed(ek: EkKey, digestBytes: number, hashName: string): { seed: Buffer; encSecret: Buffer } {
  if (ek.key.asymmetricKeyType === 'rsa') {
    const seed = randomBytes(digestBytes);
    const encSecret = publicEncrypt(
      { key: ek.key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hashName, oaepLabel: OAEP_LABEL },
      seed,
    );
    return { seed, encSecret };
  }
  if (ek.key.asymmetricKeyType === 'ec') {
    const ekPoint = eccPoint(ek.key);
    const eph = generateKeyPairSync('ec', { namedCurve: ekPoint.curveJwk });
    const ephPoint = eccPoint(eph.publicKey);
    // Z is the x coordinate of the shared point (SP 800-56A one-pass DH, Part 1 Annex C.6.1).
    const z = diffieHellman({ privateKey: eph.privateKey, publicKey: ek.key });
    const seed = kdfe(ek.nameAlg, z, IDENTITY, ephPoint.x, ekPoint.x, digestBytes * 8);
    const w = new BufferWriter();
    writeEccPoint(w, ephPoint);
    return { seed, encSecret: w.finish() };
  }
  throw new KeyError(`EK key type ${ek.key.asymmetricKeyType} cannot protect a credential`);
}

/** symKey, HMAC key (Part 1 §24.4, §24.5). */
function deriveKeys(ek: EkClass, seed: Buffer, akName: Uint8Array, digestBytes: number): { symKey: Buffer; hmacKey: Buffer } {
  return {
    symKey: kdfa(ek.nameAlg, seed, 'STORAGE', akName, Buffer.alloc(0), ek.symKeyBits),
    hmacKey: kdfa(ek.nameAlg, seed, 'INTEGRITY', Buffer.alloc(0), Buffer.alloc(0), digestBytes * 8),
  };
}

function aesCfb(symKeyBits: number, key: Buffer, data: Buffer, decrypt: boolean): Buffer {
  const alg = `aes-${symKeyBits}-cfb`;
  const iv = Buffer.alloc(16); // Part 1 §24.4: the IV is zero, each seed is used once.
  const c = decrypt ? createDecipheriv(alg, key, iv) : createCipheriv(alg, key, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

/**
 * TPM2_MakeCredential in software.
 * @param ek the EK: its TPMT_PUBLIC, or the certificate's key with its class
 * @param akName the Name of the key being credentialed (nameAlg || digest)
 * @param credential at most one nameAlg digest long (32 bytes for SHA-256 EKs)
 */
export function makeCredential(ek: TpmPublic | EkKey, akName: Uint8Array, credential: Uint8Array): MadeCredential {
  const target = classOf(ek);
  const hash = hashOf(target.nameAlg);
  checkSymBits(target.symKeyBits);
  if (credential.length === 0 || credential.length > hash.size) {
    // Part 3 §12.6: TPM_RC_SIZE when the credential exceeds the nameAlg digest.
    throw new RangeError(`credential of ${credential.length} bytes, must be 1..${hash.size}`);
  }
  const { seed, encSecret } = protectSeed(target, hash.size, hash.name);
  const { symKey, hmacKey } = deriveKeys(target, seed, akName, hash.size);
  const plain = new BufferWriter(2 + credential.length).tpm2b(credential).finish();
  const encIdentity = aesCfb(target.symKeyBits, symKey, plain, false);
  const integrityHmac = createHmac(hash.name, hmacKey).update(encIdentity).update(akName).digest();
  return { credentialBlob: marshalIdObject({ integrityHmac, encIdentity }), secret: marshalEncryptedSecret(encSecret) };
}

function recoverSeed(ekPrivate: KeyObject, ek: EkClass, encSecret: Buffer, digestBytes: number, hashName: string): Buffer {
  if (ekPrivate.asymmetricKeyType === 'rsa') {
    try {
      return privateDecrypt(
        { key: ekPrivate, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hashName, oaepLabel: OAEP_LABEL },
        encSecret,
      );
    } catch {
      throw new CredentialError('secret', 'secret does not decrypt with this EK');
    }
  }
  if (ekPrivate.asymmetricKeyType === 'ec') {
    const r = new BufferReader(encSecret);
    const point = readEccPoint(r);
    r.done('TPMS_ECC_POINT');
    const ekPoint = eccPoint(createPublicKey(ekPrivate));
    const size = ekPoint.x.length;
    if (point.x.length > size || point.y.length > size) throw new CredentialError('secret', 'ephemeral point too large');
    const pad = (b: Buffer) => Buffer.concat([Buffer.alloc(size - b.length), b]);
    let ephemeral: KeyObject;
    try {
      ephemeral = createPublicKey({
        key: { kty: 'EC', crv: ekPoint.curveJwk, x: pad(point.x).toString('base64url'), y: pad(point.y).toString('base64url') },
        format: 'jwk',
      });
    } catch {
      throw new CredentialError('secret', 'ephemeral point is not on the EK curve');
    }
    const z = diffieHellman({ privateKey: ekPrivate, publicKey: ephemeral });
    return kdfe(ek.nameAlg, z, IDENTITY, point.x, ekPoint.x, digestBytes * 8);
  }
  throw new KeyError(`EK key type ${ekPrivate.asymmetricKeyType} cannot activate a credential`);
}

/**
 * TPM2_ActivateCredential in software: returns the credential, or throws
 * CredentialError when the blob was not made for this EK and akName.
 */
export function activateCredential(
  ekPrivate: KeyObject,
  ek: EkClass,
  akName: Uint8Array,
  credentialBlob: Uint8Array,
  secret: Uint8Array,
): Buffer {
  const hash = hashOf(ek.nameAlg);
  checkSymBits(ek.symKeyBits);
  let seed: Buffer;
  let id: ReturnType<typeof unmarshalIdObject>;
  try {
    id = unmarshalIdObject(credentialBlob);
    seed = recoverSeed(ekPrivate, ek, unmarshalEncryptedSecret(secret), hash.size, hash.name);
  } catch (err) {
    if (err instanceof MarshalError) throw new CredentialError('format', err.message);
    throw err;
  }
  const { symKey, hmacKey } = deriveKeys(ek, seed, akName, hash.size);
  const expected = createHmac(hash.name, hmacKey).update(id.encIdentity).update(akName).digest();
  // Part 1 §24.5: the HMAC is checked before anything is decrypted.
  if (id.integrityHmac.length !== expected.length || !timingSafeEqual(id.integrityHmac, expected)) {
    throw new CredentialError('integrity', 'credential integrity HMAC does not match');
  }
  const r = new BufferReader(aesCfb(ek.symKeyBits, symKey, id.encIdentity, true));
  try {
    const credential = readDigest2b(r, 'credential');
    r.done('credential');
    return credential;
  } catch (err) {
    throw new CredentialError('format', (err as Error).message);
  }
}
