/**
 * Verifying a signature over a digest that was computed elsewhere (IMA signs
 * the file digest the kernel measured): RSA PKCS#1 v1.5 by comparing the
 * recovered DigestInfo (RFC 8017 §8.2.2, §9.2), ECDSA per SEC 1 §4.1.4.
 */
import { Null, ObjectIdentifier, OctetString, Sequence } from 'asn1js';
import { constants, publicDecrypt, type KeyObject } from 'node:crypto';
import { verifyEcdsaDigest } from './ecdsa-digest.js';

/** The DigestAlgorithm OIDs (RFC 8017 §9.2 note 1, NIST CSOR). */
export const DIGEST_OIDS: Readonly<Record<string, string>> = {
  sha1: '1.3.14.3.2.26',
  sha224: '2.16.840.1.101.3.4.2.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  'sha3-256': '2.16.840.1.101.3.4.2.8',
  'sha3-384': '2.16.840.1.101.3.4.2.9',
  'sha3-512': '2.16.840.1.101.3.4.2.10',
};

/** Node hash name for a digest algorithm OID (dotted), or null. */
export function digestAlgForOid(oid: string): string | null {
  for (const [name, known] of Object.entries(DIGEST_OIDS)) if (known === oid) return name;
  return null;
}

/**
 * DigestInfo ::= SEQUENCE { AlgorithmIdentifier { oid, NULL }, OCTET STRING digest }
 * (RFC 8017 §9.2 step 2). Everything before the digest depends only on the
 * algorithm and the digest's length (the fixed prefixes of §9.2 note 1), so
 * it is encoded once per pair: every signed IMA entry needs one.
 */
const digestInfoPrefixes = new Map<string, Buffer>();

function digestInfo(alg: string, digest: Buffer): Buffer | null {
  const oid = DIGEST_OIDS[alg];
  if (!oid) return null;
  const key = `${alg}/${digest.length}`;
  let prefix = digestInfoPrefixes.get(key);
  if (!prefix) {
    const algorithm = new Sequence({ value: [new ObjectIdentifier({ value: oid }), new Null()] });
    const der = Buffer.from(new Sequence({ value: [algorithm, new OctetString({ valueHex: new Uint8Array(digest.length) })] }).toBER());
    prefix = der.subarray(0, der.length - digest.length);
    digestInfoPrefixes.set(key, prefix);
  }
  return Buffer.concat([prefix, digest]);
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
