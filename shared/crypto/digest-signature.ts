/**
 * Verifying a signature over a digest that was computed elsewhere (IMA signs
 * the file digest the kernel measured): RSA PKCS#1 v1.5 by comparing the
 * recovered DigestInfo (RFC 8017 §8.2.2, §9.2), ECDSA per SEC 1 §4.1.4.
 */
import { constants, publicDecrypt, type KeyObject } from 'node:crypto';
import { verifyEcdsaDigest } from './ecdsa-digest.js';

/** DER contents of the DigestAlgorithm OIDs (RFC 8017 §9.2 note 1, NIST CSOR). */
export const DIGEST_OIDS: Readonly<Record<string, string>> = {
  sha1: '2b0e03021a',
  sha224: '608648016503040204',
  sha256: '608648016503040201',
  sha384: '608648016503040202',
  sha512: '608648016503040203',
  'sha3-256': '608648016503040208',
  'sha3-384': '608648016503040209',
  'sha3-512': '60864801650304020a',
};

/** Node hash name for a DER OID's contents (hex), or null. */
export function digestAlgForOid(oidHex: string): string | null {
  for (const [name, oid] of Object.entries(DIGEST_OIDS)) if (oid === oidHex) return name;
  return null;
}

/** DigestInfo ::= SEQUENCE { AlgorithmIdentifier { oid, NULL }, OCTET STRING digest }. */
function digestInfo(alg: string, digest: Buffer): Buffer | null {
  const oid = DIGEST_OIDS[alg];
  if (!oid) return null;
  const algId = Buffer.from(`06${(oid.length / 2).toString(16).padStart(2, '0')}${oid}0500`, 'hex');
  const inner = Buffer.concat([Buffer.from([0x30, algId.length]), algId, Buffer.from([0x04, digest.length]), digest]);
  return Buffer.concat([Buffer.from([0x30, inner.length]), inner]);
}

/** Whether `signature` by `key` covers `digest` (an `alg` hash). RSA and EC keys only. */
export function verifyDigestSignature(key: KeyObject, alg: string, digest: Buffer, signature: Buffer): boolean {
  if (key.asymmetricKeyType === 'ec') return verifyEcdsaDigest(key, digest, signature);
  if (key.asymmetricKeyType !== 'rsa') return false;
  const expected = digestInfo(alg, digest);
  if (!expected) return false;
  try {
    return publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature).equals(expected);
  } catch {
    return false;
  }
}
