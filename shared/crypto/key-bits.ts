/**
 * SHA-1 over a public key's bits: the SubjectPublicKeyInfo BIT STRING
 * contents after the unused-bits byte. The kernel's asymmetric-key id is its
 * last 4 bytes (IMA signature key ids), and RFC 5280 §4.2.1.2 method (1)
 * makes it the usual subject key identifier.
 */
import { hash, type KeyObject } from 'node:crypto';
import { derChildren, readDer } from './der.js';

export function keyBitsSha1(key: KeyObject): Buffer {
  const spki = key.export({ format: 'der', type: 'spki' });
  const [, bits] = derChildren(spki, readDer(spki, 0));
  if (!bits || bits.tag !== 0x03) throw new RangeError('SubjectPublicKeyInfo without a BIT STRING');
  return hash('sha1', spki.subarray(bits.start + 1, bits.end), 'buffer');
}
