/** TPM 2.0 constants, TPM 2.0 Part 2 (Structures) §6 and §8. */

/** TPM_ALG_ID, Part 2 §6.3 (and the TCG Algorithm Registry). */
export const TPM_ALG = {
  ERROR: 0x0000,
  RSA: 0x0001,
  SHA1: 0x0004,
  HMAC: 0x0005,
  AES: 0x0006,
  MGF1: 0x0007,
  KEYEDHASH: 0x0008,
  XOR: 0x000a,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  SM3_256: 0x0012,
  SM4: 0x0013,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  OAEP: 0x0017,
  ECDSA: 0x0018,
  ECDH: 0x0019,
  ECDAA: 0x001a,
  SM2: 0x001b,
  ECSCHNORR: 0x001c,
  ECMQV: 0x001d,
  KDF1_SP800_56A: 0x0020,
  KDF2: 0x0021,
  KDF1_SP800_108: 0x0022,
  ECC: 0x0023,
  SYMCIPHER: 0x0025,
  CAMELLIA: 0x0026,
  CTR: 0x0040,
  OFB: 0x0041,
  CBC: 0x0042,
  CFB: 0x0043,
  ECB: 0x0044,
} as const;

/** TPM_ECC_CURVE, Part 2 §6.4. */
export const TPM_ECC = {
  NONE: 0x0000,
  NIST_P256: 0x0003,
  NIST_P384: 0x0004,
  NIST_P521: 0x0005,
} as const;

/** TPM_ST, Part 2 §6.9. */
export const TPM_ST = {
  RSP_COMMAND: 0x00c4,
  NULL: 0x8000,
  NO_SESSIONS: 0x8001,
  SESSIONS: 0x8002,
  ATTEST_NV: 0x8014,
  ATTEST_COMMAND_AUDIT: 0x8015,
  ATTEST_SESSION_AUDIT: 0x8016,
  ATTEST_CERTIFY: 0x8017,
  ATTEST_QUOTE: 0x8018,
  ATTEST_TIME: 0x8019,
  ATTEST_CREATION: 0x801a,
  CREATION: 0x8021,
  VERIFIED: 0x8022,
  AUTH_SECRET: 0x8023,
  HASHCHECK: 0x8024,
  AUTH_SIGNED: 0x8025,
} as const;

/** TPM_GENERATED_VALUE, Part 2 §6.2: "\xffTCG". */
export const TPM_GENERATED_VALUE = 0xff544347;

/** Permanent handles, Part 2 §7.4. */
export const TPM_RH = {
  OWNER: 0x40000001,
  NULL: 0x40000007,
  PW: 0x40000009,
  LOCKOUT: 0x4000000a,
  ENDORSEMENT: 0x4000000b,
  PLATFORM: 0x4000000c,
} as const;

/** TPMA_OBJECT bits, Part 2 §8.3. */
export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  stClear: 1 << 2,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  adminWithPolicy: 1 << 7,
  noDA: 1 << 10,
  encryptedDuplication: 1 << 11,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18,
} as const;

export type HashAlg = 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'sm3';

/** Digest algorithms the product handles, by TPM_ALG_ID. */
export const HASH_ALGS: ReadonlyMap<number, { name: HashAlg; size: number }> = new Map([
  [TPM_ALG.SHA1, { name: 'sha1', size: 20 }],
  [TPM_ALG.SHA256, { name: 'sha256', size: 32 }],
  [TPM_ALG.SHA384, { name: 'sha384', size: 48 }],
  [TPM_ALG.SHA512, { name: 'sha512', size: 64 }],
  [TPM_ALG.SM3_256, { name: 'sm3', size: 32 }],
]);

export function hashAlgName(alg: number): HashAlg {
  const h = HASH_ALGS.get(alg);
  if (!h) throw new RangeError(`unsupported hash algorithm 0x${alg.toString(16).padStart(4, '0')}`);
  return h.name;
}

export function hashAlgId(name: HashAlg): number {
  for (const [id, h] of HASH_ALGS) if (h.name === name) return id;
  throw new RangeError(`unsupported hash algorithm ${name}`);
}

export function digestSize(alg: number): number {
  const h = HASH_ALGS.get(alg);
  if (!h) throw new RangeError(`unsupported hash algorithm 0x${alg.toString(16).padStart(4, '0')}`);
  return h.size;
}
