/**
 * The TPM2B containers of the credential protocol (TPM 2.0 Part 2):
 * TPM2B_DIGEST (§10.4.2), TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET.
 * Maximum sizes are those of the unions they carry, so a hostile size field
 * never makes us allocate or read beyond them.
 */
import { BufferReader, BufferWriter } from './buffer.js';
import { unmarshalWhole } from './whole-structure.js';

/** sizeof(TPMU_HA): the largest digest (SHA-512). */
export const MAX_DIGEST_BYTES = 64;
/** sizeof(TPMS_ID_OBJECT): two TPM2B_DIGESTs. */
export const MAX_ID_OBJECT_BYTES = 2 * (2 + MAX_DIGEST_BYTES);
/** sizeof(TPMU_ENCRYPTED_SECRET): an RSA-4096 OAEP block is the largest member. */
export const MAX_ENCRYPTED_SECRET_BYTES = 512;

export function readDigest2b(r: BufferReader, what = 'TPM2B_DIGEST'): Buffer {
  return Buffer.from(r.tpm2b(what, MAX_DIGEST_BYTES));
}

export function marshalDigest2b(digest: Uint8Array): Buffer {
  return new BufferWriter(2 + digest.length).tpm2b(digest).finish();
}

/**
 * TPMS_ID_OBJECT (Part 2): integrityHMAC as a TPM2B_DIGEST, then
 * encIdentity, the CFB-encrypted TPM2B_DIGEST of the credential, which runs
 * to the end of the enclosing TPM2B_ID_OBJECT without a size of its own.
 */
export interface IdObject {
  integrityHmac: Buffer;
  encIdentity: Buffer;
}

/** TPM2B_ID_OBJECT with its UINT16 size, as TPM2_MakeCredential returns it. */
export function marshalIdObject(id: IdObject): Buffer {
  const inner = new BufferWriter(2 + id.integrityHmac.length + id.encIdentity.length)
    .tpm2b(id.integrityHmac)
    .bytes(id.encIdentity)
    .finish();
  return new BufferWriter(2 + inner.length).tpm2b(inner).finish();
}

export function unmarshalIdObject(buf: Uint8Array): IdObject {
  const outer = new BufferReader(buf);
  const inner = new BufferReader(outer.tpm2b('TPM2B_ID_OBJECT', MAX_ID_OBJECT_BYTES));
  outer.done('TPM2B_ID_OBJECT');
  const integrityHmac = readDigest2b(inner, 'TPMS_ID_OBJECT.integrityHMAC');
  const encIdentity = Buffer.from(inner.bytes(inner.remaining, 'TPMS_ID_OBJECT.encIdentity'));
  return { integrityHmac, encIdentity };
}

/** TPM2B_ENCRYPTED_SECRET with its UINT16 size. */
export function marshalEncryptedSecret(secret: Uint8Array): Buffer {
  return new BufferWriter(2 + secret.length).tpm2b(secret).finish();
}

export function unmarshalEncryptedSecret(buf: Uint8Array): Buffer {
  const what = 'TPM2B_ENCRYPTED_SECRET';
  return unmarshalWhole(buf, what, (r) => Buffer.from(r.tpm2b(what, MAX_ENCRYPTED_SECRET_BYTES)));
}
