/**
 * The TPM key derivation functions, TPM 2.0 Part 1 §11.4.10.
 */
import { createHash, createHmac } from 'node:crypto';
import { HASH_ALGS } from '../tpm/constants.js';
import { UnsupportedAlgorithmError } from '../tpm/public.js';

function hashOf(alg: number): { name: string; size: number } {
  const h = HASH_ALGS.get(alg);
  if (!h) throw new UnsupportedAlgorithmError('KDF hash', alg);
  return h;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** A label is used with its terminating NUL; one is added when missing (Part 1 §11.4.10.2). */
function labelBytes(label: string | Uint8Array): Buffer {
  const b = typeof label === 'string' ? Buffer.from(label, 'latin1') : Buffer.from(label);
  return b.length > 0 && b[b.length - 1] === 0 ? b : Buffer.concat([b, Buffer.alloc(1)]);
}

/** Keeps the leftmost `bits` bits: whole bytes, then the excess high bits of the first byte cleared. */
function truncate(out: Buffer, bits: number): Buffer {
  const bytes = Math.ceil(bits / 8);
  const res = Buffer.from(out.subarray(0, bytes));
  if (bits % 8 !== 0) res[0] &= 0xff >> (8 - (bits % 8));
  return res;
}

function checkBits(bits: number): void {
  // The counter and length are UINT32; the TPM never asks for more than a few kilobits.
  if (!Number.isInteger(bits) || bits <= 0 || bits > 65536) throw new RangeError(`KDF output of ${bits} bits`);
}

/**
 * KDFa (Part 1 §11.4.10.2): SP 800-108 counter mode with HMAC-hashAlg,
 * K(i) = HMAC(key, [i]32 || Label || 0x00 || contextU || contextV || [bits]32).
 */
export function kdfa(
  hashAlg: number,
  key: Uint8Array,
  label: string | Uint8Array,
  contextU: Uint8Array,
  contextV: Uint8Array,
  bits: number,
): Buffer {
  checkBits(bits);
  const h = hashOf(hashAlg);
  const fixed = Buffer.concat([labelBytes(label), contextU, contextV, u32(bits)]);
  const blocks: Buffer[] = [];
  for (let i = 1, got = 0; got * 8 < bits; i++, got += h.size) {
    blocks.push(createHmac(h.name, key).update(u32(i)).update(fixed).digest());
  }
  return truncate(Buffer.concat(blocks), bits);
}

/**
 * KDFe (Part 1 §11.4.10.3): SP 800-56A concatenation KDF,
 * K(i) = H([i]32 || Z || Label || 0x00 || partyUInfo || partyVInfo).
 */
export function kdfe(
  hashAlg: number,
  z: Uint8Array,
  label: string | Uint8Array,
  partyUInfo: Uint8Array,
  partyVInfo: Uint8Array,
  bits: number,
): Buffer {
  checkBits(bits);
  const h = hashOf(hashAlg);
  const other = Buffer.concat([labelBytes(label), partyUInfo, partyVInfo]);
  const blocks: Buffer[] = [];
  for (let i = 1, got = 0; got * 8 < bits; i++, got += h.size) {
    blocks.push(createHash(h.name).update(u32(i)).update(z).update(other).digest());
  }
  return truncate(Buffer.concat(blocks), bits);
}
