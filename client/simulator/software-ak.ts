/**
 * Attestation keys of a software TPM: key pairs in this process's memory
 * whose public area is the one TPM2_Create gives an AK (client/ak.ts
 * akTemplate), and which sign as a restricted AK signs in TPM2_Quote.
 *
 * Between uses an AK is kept as key blobs like a TPM's: TPMT_PUBLIC, and a
 * private part that only the software TPM that made it can open. Instead of
 * a TPM's protected storage (TPM 2.0 Part 1 §23: the sensitive area
 * encrypted and HMACed under the parent's seed) the private part is the
 * PKCS#8 key sealed with AES-256-GCM under the software TPM's storage key,
 * the public area as associated data: blobs open only in their own TPM and
 * only with their own public area.
 */
import { createCipheriv, createDecipheriv, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { keyMatchesPublic, publicWithKey } from '../../shared/crypto/keys.js';
import { MarshalError } from '../../shared/tpm/buffer.js';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import { objectName } from '../../shared/tpm/name.js';
import { marshalPublic, unmarshalPublic, type TpmPublic } from '../../shared/tpm/public.js';
import { marshalSignature } from '../../shared/tpm/signature.js';
import { AK_ATTRIBUTES, akTemplate, type KeyAlg } from '../ak.js';
import type { KeyBlobs } from '../tpm/commands/objects.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** A sealed PKCS#8 RSA-2048 key is about 1.2 KiB; anything far larger was not made here. */
const MAX_PRIVATE_BYTES = 4096;

/** The blobs were not made by this software TPM, or were altered (a TPM answers TPM_RC_INTEGRITY). */
export class SoftwareKeyBlobError extends Error {
  override name = 'SoftwareKeyBlobError';
}

export function generateKeyPair(alg: KeyAlg): { privateKey: KeyObject; publicKey: KeyObject } {
  return alg === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export class SoftwareAk {
  /** TPMT_PUBLIC, marshaled (IBM ACS `akpub`). */
  readonly publicBytes: Buffer;
  /** The AK's Name (Part 1 §16): nameAlg || H(TPMT_PUBLIC). */
  readonly name: Buffer;

  private constructor(readonly alg: KeyAlg, private readonly privateKey: KeyObject, pub: TpmPublic) {
    this.publicBytes = marshalPublic(pub);
    this.name = objectName(pub);
  }

  /** A new AK: RSA-2048 RSASSA-SHA256 or ECC P-256 ECDSA-SHA256. */
  static generate(alg: KeyAlg): SoftwareAk {
    const { privateKey, publicKey } = generateKeyPair(alg);
    return new SoftwareAk(alg, privateKey, publicWithKey(akTemplate(alg), publicKey));
  }

  /** TPMT_SIGNATURE (Part 2 §11.3.4) over `message` with the AK's SHA-256 scheme, as TPM2_Quote signs. */
  sign(message: Buffer): Buffer {
    if (this.alg === 'rsa') {
      return marshalSignature({ sigAlg: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256, sig: sign('sha256', message, this.privateKey) });
    }
    const rs = sign('sha256', message, { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return marshalSignature({ sigAlg: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256, r: rs.subarray(0, 32), s: rs.subarray(32) });
  }

  /** Key blobs for the state directory: iv || GCM tag || sealed PKCS#8 as the private part. */
  seal(storageKey: Buffer): KeyBlobs {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', storageKey, iv).setAAD(this.publicBytes);
    const sealed = Buffer.concat([cipher.update(this.privateKey.export({ type: 'pkcs8', format: 'der' })), cipher.final()]);
    return { privateBytes: Buffer.concat([iv, cipher.getAuthTag(), sealed]), publicBytes: Buffer.from(this.publicBytes) };
  }

  /** The AK in `blobs`; SoftwareKeyBlobError unless this storage key sealed them for this public area. */
  static unseal(storageKey: Buffer, blobs: KeyBlobs): SoftwareAk {
    let pub: TpmPublic;
    try {
      pub = unmarshalPublic(blobs.publicBytes);
    } catch (err) {
      if (err instanceof MarshalError) throw new SoftwareKeyBlobError(`AK public area: ${err.message}`);
      throw err;
    }
    const alg: KeyAlg | undefined = pub.type === TPM_ALG.RSA ? 'rsa' : pub.type === TPM_ALG.ECC ? 'ecc' : undefined;
    if (!alg || pub.objectAttributes !== AK_ATTRIBUTES) throw new SoftwareKeyBlobError('the public area is not an AK of this TPM');
    const p = blobs.privateBytes;
    if (p.length <= IV_BYTES + TAG_BYTES || p.length > MAX_PRIVATE_BYTES) throw new SoftwareKeyBlobError(`a ${p.length}-byte private part`);
    let der: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', storageKey, p.subarray(0, IV_BYTES)).setAAD(blobs.publicBytes);
      decipher.setAuthTag(p.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      der = Buffer.concat([decipher.update(p.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SoftwareKeyBlobError('the private part was not sealed by this TPM for this public area');
    }
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    if (!keyMatchesPublic(privateKey, pub)) throw new SoftwareKeyBlobError('the private key is not the public area\'s');
    return new SoftwareAk(alg, privateKey, pub);
  }
}
