/**
 * IMA file signatures (the 'sig' template field, the security.ima xattr):
 * struct signature_v2_hdr in security/integrity/integrity.h:
 *   type u8 (EVM_IMA_XATTR_DIGSIG = 3, IMA_VERITY_DIGSIG = 6) | version u8 |
 *   hash_algo u8 (enum hash_algo) | keyid [4] | sig_size u16 BE | signature
 * Version 2 signs the file digest; version 3 signs H(struct ima_file_id) =
 * H(type | file hash_algo | file digest) (ima_appraise.c calc_file_id_hash).
 * RSA signatures are PKCS#1 v1.5 over the digest, ECDSA signatures a DER
 * ECDSA-Sig-Value. The key id is the
 * last 4 bytes of SHA-1 over the key bits (the SubjectPublicKeyInfo BIT
 * STRING), as the kernel's asymmetric-key id. Appended signatures are in
 * modsig.ts.
 */
import { X509Certificate, createPublicKey, hash, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { verifyDigestSignature } from '../../crypto/digest-signature.js';
import { keyBitsSha1 } from '../../crypto/key-bits.js';
import { BufferReader } from '../../tpm/buffer.js';
import { EventLogError } from '../errors.js';
import { certificateIdentity, verifyModsig, type IdentifiedKey } from './modsig.js';
import type { ImaTemplateInfo } from './template.js';

export type ImaSignatureStatus = 'ok' | 'nosig' | 'nokey' | 'badsig';

export class ImaKeyError extends Error {
  override name = 'ImaKeyError';

  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

/** enum hash_algo (include/uapi/linux/hash_info.h) → Node hash name, where Node has it. */
const KERNEL_HASH_ALGOS: readonly (string | null)[] = [
  'md4', 'md5', 'sha1', 'ripemd160', 'sha256', 'sha384', 'sha512', 'sha224', null, null, null,
  null, null, null, null, null, null, 'sm3', null, null, 'sha3-256', 'sha3-384', 'sha3-512',
];

/** hash_algo_name[] spellings in d-ng fields → Node names. */
function nodeHashName(kernelName: string): string {
  return kernelName === 'rmd160' ? 'ripemd160' : kernelName === 'sm3_256' ? 'sm3' : kernelName;
}

export interface ImaSignature {
  type: number;
  version: number;
  /** enum hash_algo value. */
  hashAlgo: number;
  /** Node name of hashAlgo, or null when Node cannot compute it. */
  hashAlg: string | null;
  keyId: string;
  signature: Buffer;
}

const EVM_IMA_XATTR_DIGSIG = 3;
const IMA_VERITY_DIGSIG = 6;

export function parseImaSignature(sig: Buffer): ImaSignature {
  if (sig.length < 9) throw new EventLogError(`signature of ${sig.length} bytes is shorter than its header`);
  const r = new BufferReader(sig);
  const type = r.u8();
  const version = r.u8();
  const hashAlgo = r.u8();
  const keyId = r.bytes(4).toString('hex');
  const size = r.u16('sig_size');
  if (r.remaining !== size) throw new EventLogError(`signature size field ${size} does not match ${r.remaining} bytes`);
  return { type, version, hashAlgo, hashAlg: KERNEL_HASH_ALGOS[hashAlgo] ?? null, keyId, signature: r.bytes(size) };
}

/** The IMA key id: the last 4 bytes of keyBitsSha1, in hex. */
export function imaKeyId(key: KeyObject): string {
  return keyBitsSha1(key).subarray(16).toString('hex');
}

type KeyOrCert = KeyObject | X509Certificate;

function keysFromFile(file: string, bytes: Buffer): KeyOrCert[] {
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN')) {
    const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)];
    if (blocks.length === 0) throw new ImaKeyError(file, 'no PEM block');
    return blocks.map(([pem, label]) => (label === 'CERTIFICATE' ? new X509Certificate(pem) : createPublicKey(pem)));
  }
  try {
    return [new X509Certificate(bytes)];
  } catch {
    return [createPublicKey({ key: bytes, format: 'der', type: 'spki' })];
  }
}

/**
 * The public keys IMA signatures are checked with, by key id, and the check
 * itself. Results are cached per (file digest, signature), so a long log that
 * measures the same files again does not verify them again.
 */
export class ImaKeyring {
  private readonly byId = new Map<string, KeyObject[]>();
  private readonly identified: IdentifiedKey[] = [];
  private readonly cache = new Map<string, ImaSignatureStatus>();

  /** Certificates also name their key for appended (PKCS#7) signatures. */
  constructor(keys: Iterable<KeyOrCert> = [], private readonly maxCacheEntries = 100_000) {
    for (const k of keys) this.add(k);
  }

  /** Loads X.509 certificates or public keys, DER or PEM (several PEM blocks per file allowed). */
  static async fromFiles(files: readonly string[]): Promise<ImaKeyring> {
    const keys: KeyOrCert[] = [];
    for (const file of files) {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (e) {
        throw new ImaKeyError(file, (e as Error).message);
      }
      try {
        keys.push(...keysFromFile(file, bytes));
      } catch (e) {
        throw e instanceof ImaKeyError ? e : new ImaKeyError(file, `not a certificate or public key: ${(e as Error).message}`);
      }
    }
    return new ImaKeyring(keys);
  }

  add(keyOrCert: KeyOrCert): string {
    const cert = keyOrCert instanceof X509Certificate ? keyOrCert : null;
    const key = cert ? cert.publicKey : (keyOrCert as KeyObject);
    const bitsSha1 = keyBitsSha1(key);
    const id = bitsSha1.subarray(16).toString('hex');
    this.byId.set(id, [...(this.byId.get(id) ?? []), key]);
    // RFC 5280 §4.2.1.2 method (1): a subject key identifier is often SHA-1 of the key bits.
    const identity = cert ? certificateIdentity(cert) : { subjectKeyIds: [] };
    identity.subjectKeyIds.push(bitsSha1);
    this.identified.push({ key, identity });
    this.cache.clear();
    return id;
  }

  get keyIds(): string[] {
    return [...this.byId.keys()];
  }

  /** Number of (file digest, signature) results remembered. */
  get cachedResults(): number {
    return this.cache.size;
  }

  /**
   * The signature status of one event: its 'sig' field (an xattr signature)
   * when present, else its appended signature (ima-modsig), else 'nosig'.
   */
  verifyEvent(info: ImaTemplateInfo): ImaSignatureStatus {
    const modsig = !info.signature && info.modsig && info.modsigDigest ? info.modsig : null;
    const sig = info.signature ?? modsig;
    if (!sig) return 'nosig';
    const digest = modsig ? info.modsigDigest : info.fileDigest;
    const cacheKey = digest ? `${digest.alg}:${digest.digest.toString('latin1')}:${sig.toString('latin1')}` : null;
    const cached = cacheKey === null ? undefined : this.cache.get(cacheKey);
    if (cached) return cached;
    const status = modsig ? verifyModsig(modsig, info.modsigDigest!, this.identified) : this.check(sig, info);
    if (cacheKey !== null) {
      if (this.cache.size >= this.maxCacheEntries) this.cache.clear();
      this.cache.set(cacheKey, status);
    }
    return status;
  }

  private check(raw: Buffer, info: ImaTemplateInfo): ImaSignatureStatus {
    let sig: ImaSignature;
    try {
      sig = parseImaSignature(raw);
    } catch {
      return 'badsig';
    }
    const v2 = sig.type === EVM_IMA_XATTR_DIGSIG && sig.version === 2;
    const v3 = (sig.type === EVM_IMA_XATTR_DIGSIG || sig.type === IMA_VERITY_DIGSIG) && sig.version === 3;
    if (!v2 && !v3) return 'badsig';
    const keys = this.byId.get(sig.keyId);
    if (!keys) return 'nokey';
    const file = info.fileDigest;
    if (!file || !sig.hashAlg) return 'badsig';
    let signed = file.digest;
    if (v3) {
      const fileAlgo = KERNEL_HASH_ALGOS.indexOf(nodeHashName(file.alg));
      if (fileAlgo < 0) return 'badsig';
      try {
        signed = hash(sig.hashAlg, Buffer.concat([Buffer.from([sig.type, fileAlgo]), file.digest]), 'buffer');
      } catch {
        return 'badsig'; // a hash this Node build lacks (md4, ...)
      }
    } else if (nodeHashName(file.alg) !== sig.hashAlg) {
      return 'badsig';
    }
    return keys.some((k) => verifyDigestSignature(k, sig.hashAlg!, signed, sig.signature)) ? 'ok' : 'badsig';
  }
}
