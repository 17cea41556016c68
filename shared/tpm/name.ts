/**
 * Object names, TPM 2.0 Part 1 §16: for an object, Name = nameAlg (UINT16) ||
 * H_nameAlg(marshaled TPMT_PUBLIC). The name binds every attribute and the
 * policy of the key, so MakeCredential and certification use it, never the
 * bare public key.
 */
import { createHash } from 'node:crypto';
import { BufferWriter } from './buffer.js';
import { HASH_ALGS } from './constants.js';
import { marshalPublic, unmarshalPublic, UnsupportedAlgorithmError, type TpmPublic } from './public.js';

/**
 * Name of the object whose TPMT_PUBLIC is given, either as its marshaled bytes
 * (hashed exactly as received, after checking they parse) or as a structure.
 */
export function objectName(pub: Uint8Array | TpmPublic): Buffer {
  let bytes: Uint8Array;
  let nameAlg: number;
  if (pub instanceof Uint8Array) {
    nameAlg = unmarshalPublic(pub).nameAlg;
    bytes = pub;
  } else {
    nameAlg = pub.nameAlg;
    bytes = marshalPublic(pub);
  }
  const hash = HASH_ALGS.get(nameAlg);
  if (!hash) throw new UnsupportedAlgorithmError('TPMT_PUBLIC.nameAlg', nameAlg);
  return new BufferWriter(2 + hash.size).u16(nameAlg).bytes(createHash(hash.name).update(bytes).digest()).finish();
}
