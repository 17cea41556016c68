/**
 * Synthetic Linux IMA measurement logs for the benchmark: the
 * boot_aggregate entry, then ima-ng or ima-sig entries for made-up files,
 * some carrying a real IMA signature (signature_v2_hdr, RSA PKCS#1 v1.5
 * over the file digest, as evmctl writes security.ima). Each entry is
 * extended into PCR 10 of the software TPM the way Linux 5.8+ does it: every
 * bank gets H_bank(template data) (ima_calc_field_array_hash).
 */
import { constants, generateKeyPairSync, hash, privateEncrypt, type KeyObject } from 'node:crypto';
import type { ImaEvent } from '../../shared/eventlog/ima/event.js';
import { imaKeyId } from '../../shared/eventlog/ima/signature.js';
import { encodeImaWireEvent } from '../../shared/eventlog/ima/wire.js';
import type { SoftwarePcrBanks } from '../../client/simulator/pcr-banks.js';
import { IMA_PCR } from '../../shared/tpm/pcr-roles.js';

export type TemplateHashAlg = 'sha1' | 'sha256';

/** DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1): what PKCS#1 v1.5 signs before the digest. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const EVM_IMA_XATTR_DIGSIG = 3;
const KERNEL_HASH_ALGO_SHA256 = 4;

/** An IMA signing key (the one `evmctl ima_sign` would use) that the server is told to trust. */
export class ImaSigner {
  readonly publicKey: KeyObject;
  private readonly privateKey: KeyObject;
  private readonly keyId: Buffer;

  constructor() {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.publicKey = pair.publicKey;
    this.privateKey = pair.privateKey;
    this.keyId = Buffer.from(imaKeyId(pair.publicKey), 'hex');
  }

  /** PEM of the public key, for the server's `imaKeyFiles`. */
  publicPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  /** signature_v2_hdr (security/integrity/integrity.h) with an RSA signature over the SHA-256 file digest. */
  sign(fileDigest: Buffer): Buffer {
    const sig = privateEncrypt({ key: this.privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, fileDigest]));
    const hdr = Buffer.alloc(9);
    hdr[0] = EVM_IMA_XATTR_DIGSIG;
    hdr[1] = 2;
    hdr[2] = KERNEL_HASH_ALGO_SHA256;
    this.keyId.copy(hdr, 3);
    hdr.writeUInt16BE(sig.length, 7);
    return Buffer.concat([hdr, sig]);
  }
}

export interface ImaLogProfile {
  templateHashAlg: TemplateHashAlg;
  template: 'ima-ng' | 'ima-sig';
  /** Every n-th file entry carries a signature (ima-sig only); 0 for none. */
  signEvery: number;
  signer?: ImaSigner;
}

function field(data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(data.length);
  return Buffer.concat([len, data]);
}

/** A d-ng field value: "sha256:\0" + digest (ima_eventdigest_ng_init). */
function digestField(digest: Buffer): Buffer {
  return Buffer.concat([Buffer.from('sha256:\0', 'latin1'), digest]);
}

/**
 * One boot's IMA log as a host keeps it: entries from `firstKept` on (older
 * ones are dropped once the server has them), each with its wire form.
 */
export class SyntheticImaLog {
  private events: ImaEvent[] = [];
  private wires: Buffer[] = [];
  private firstKept = 0;
  private next = 0;

  constructor(
    readonly profile: ImaLogProfile,
    private readonly pcrs: SoftwarePcrBanks,
    /** Makes file digests (and so signatures) differ between logs. */
    private readonly seed: string,
  ) {}

  /** Index the next entry will get. */
  get length(): number {
    return this.next;
  }

  /** Entry 0: boot_aggregate, SHA-256 over PCRs 0-9 of the SHA-256 bank (ima_calc_boot_aggregate, Linux 5.8+). */
  measureBootAggregate(): void {
    const pcrs = Array.from({ length: 10 }, (_, i) => this.pcrs.value('sha256', i));
    this.record(digestField(hash('sha256', Buffer.concat(pcrs), 'buffer')), 'boot_aggregate', null);
  }

  /** Measures `count` more files. */
  measureFiles(count: number): void {
    for (let i = 0; i < count; i++) {
      const n = this.next;
      const digest = hash('sha256', `${this.seed}/${n}`, 'buffer');
      const signed = this.profile.template === 'ima-sig' && this.profile.signEvery > 0 && n % this.profile.signEvery === 0;
      const sig = signed ? this.profile.signer!.sign(digest) : null;
      this.record(digestField(digest), `/usr/lib/bench/${this.seed}/file-${n}.so`, sig);
    }
  }

  private record(digestValue: Buffer, name: string, sig: Buffer | null): void {
    const parts = [field(digestValue), field(Buffer.from(`${name}\0`, 'utf8'))];
    if (this.profile.template === 'ima-sig') parts.push(field(sig ?? Buffer.alloc(0)));
    const templateData = Buffer.concat(parts);
    const sha1 = hash('sha1', templateData, 'buffer');
    const sha256 = hash('sha256', templateData, 'buffer');
    const ev: ImaEvent = {
      index: this.next++,
      pcrIndex: IMA_PCR,
      templateHash: this.profile.templateHashAlg === 'sha1' ? sha1 : sha256,
      templateName: this.profile.template,
      templateData,
      littleEndian: true,
    };
    this.pcrs.extend(IMA_PCR, { sha1, sha256 });
    this.events.push(ev);
    this.wires.push(encodeImaWireEvent(ev, this.profile.templateHashAlg));
  }

  /** Wire forms of the entries from absolute index `from` (the server's `imaentry`) on. */
  wireFrom(from: number): Buffer[] {
    if (from < this.firstKept || from > this.next) throw new RangeError(`IMA entry ${from} is not held (have ${this.firstKept}..${this.next})`);
    return this.wires.slice(from - this.firstKept);
  }

  /** Forgets entries before `index`: the server has them. */
  dropBefore(index: number): void {
    const n = Math.min(index, this.next) - this.firstKept;
    if (n <= 0) return;
    this.events.splice(0, n);
    this.wires.splice(0, n);
    this.firstKept += n;
  }

  /** The entries held, as parsed events. */
  held(): readonly ImaEvent[] {
    return this.events;
  }
}

/**
 * The kernel's binary_runtime_measurements bytes for `events` (little-endian,
 * ima_measurements_show): pcr | template hash | name length | name | data
 * length | data. For the parser benchmark, which reads what a host exposes.
 */
export function imaBinaryLog(events: readonly ImaEvent[]): Buffer {
  const parts: Buffer[] = [];
  for (const ev of events) {
    const name = Buffer.from(ev.templateName, 'latin1');
    const head = Buffer.alloc(4);
    head.writeUInt32LE(ev.pcrIndex);
    const nameLen = Buffer.alloc(4);
    nameLen.writeUInt32LE(name.length);
    const dataLen = Buffer.alloc(4);
    dataLen.writeUInt32LE(ev.templateData.length);
    parts.push(head, ev.templateHash, nameLen, name, dataLen, ev.templateData);
  }
  return Buffer.concat(parts);
}
