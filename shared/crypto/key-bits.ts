/**
 * SHA-1 over a public key's bits: the SubjectPublicKeyInfo BIT STRING
 * contents after the unused-bits byte. The kernel's asymmetric-key id is its
 * last 4 bytes (IMA signature key ids), and RFC 5280 §4.2.1.2 method (1)
 * makes it the usual subject key identifier.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { hash, type KeyObject } from 'node:crypto';

export function keyBitsSha1(key: KeyObject): Buffer {
  const spki = AsnConvert.parse(key.export({ format: 'der', type: 'spki' }), SubjectPublicKeyInfo);
  return hash('sha1', new Uint8Array(spki.subjectPublicKey), 'buffer');
}
