/**
 * A software TPM, which is not a TPM. It holds real keys and does the real
 * cryptography — TPM2_ActivateCredential with the EK private key (TPM 2.0
 * Part 3 §12.5), TPM2_Quote's TPMS_ATTEST signed by an AK (Part 3 §18.4),
 * PCR extend (Part 1 §17.2) — but every private key is in this process's
 * memory, so nothing it signs proves anything about a machine. The demo runs
 * on it where swtpm is not installed (software-tpm-dir.ts), and the
 * benchmark uses it so that hundreds of hosts fit on one machine. Tests of
 * the TPM client code use real swtpm processes.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { activateCredential, type EkClass } from '../../shared/crypto/make-credential.js';
import { pcrDigest } from '../../shared/crypto/quote.js';
import { marshalAttest } from '../../shared/tpm/attest.js';
import { TPM_ALG, TPM_GENERATED_VALUE, TPM_ST } from '../../shared/tpm/constants.js';
import { ekTemplateForKey, type EkTemplate } from '../../shared/tpm/ek-templates.js';
import { selectionOrder, type PcrSelection } from '../../shared/tpm/pcr-selection.js';
import type { KeyAlg } from '../ak.js';
import type { KeyBlobs } from '../tpm/commands/objects.js';
import { bankOf, SoftwarePcrBanks, UnsupportedPcrError } from './pcr-banks.js';
import { generateKeyPair, SoftwareAk } from './software-ak.js';
import type { SoftwareEkCa } from './software-ek-ca.js';

export type { KeyAlg } from '../ak.js';

/** TPM_PT_MANUFACTURER of a software TPM (IBM ACS `tpmvendor`): the web UI's machine list shows it. */
export const SOFTWARE_TPM_MANUFACTURER = 'DEMO';
const FIRMWARE_VERSION = 0x20240101n;
/** sizeof(TPMT_HA): the most TPM2B_DATA (qualifyingData) holds (Part 2 §10.4.3). */
const MAX_QUALIFYING_DATA = 66;
const STORAGE_KEY_BYTES = 32;

/** The software TPM cannot do what was asked; a TPM would answer with an error code. */
export class SoftwareTpmError extends Error {
  override name = 'SoftwareTpmError';
}

export interface SoftwareTpmOptions {
  /** Names the EK certificate (its OU), e.g. the machine. */
  label: string;
  ekAlg: KeyAlg;
  /** An AK to make with the TPM (the benchmark's hosts use it); more come from createAk(). */
  akAlg?: KeyAlg;
  ca: SoftwareEkCa;
}

/** What makes one software TPM: its EK, its certificate, its storage key, its PCRs and counters. */
export interface SoftwareTpmParts {
  ekPrivate: KeyObject;
  /** EK certificate DER, as a TPM holds it in the EK certificate NV index. */
  ekCert: Buffer;
  /** AES-256 key that seals the AK blobs this TPM makes. */
  storageKey: Buffer;
  pcrs?: SoftwarePcrBanks;
  resetCount?: number;
  /** When the TPM last powered on (ms since the epoch): TPMS_CLOCK_INFO.clock counts from it. */
  poweredOn?: number;
}

export class SoftwareTpm {
  /** EK certificate DER, as read from the EK certificate NV index. */
  readonly ekCert: Buffer;
  /** The default EK template matching the EK (for its NV index and class). */
  readonly ekTemplate: EkTemplate;
  readonly storageKey: Buffer;
  readonly pcrs: SoftwarePcrBanks;
  /** TPMS_CLOCK_INFO.resetCount: counts power cycles. */
  resetCount: number;
  poweredOn: number;
  private readonly ekPrivate: KeyObject;
  private readonly ekClass: EkClass;
  private readonly madeAk?: SoftwareAk;

  constructor(parts: SoftwareTpmParts, ak?: SoftwareAk) {
    this.ekPrivate = parts.ekPrivate;
    this.ekCert = parts.ekCert;
    this.ekTemplate = ekTemplateForKey(createPublicKey(parts.ekPrivate));
    this.ekClass = this.ekTemplate.ekClass;
    if (parts.storageKey.length !== STORAGE_KEY_BYTES) throw new SoftwareTpmError(`a ${parts.storageKey.length}-byte storage key`);
    this.storageKey = parts.storageKey;
    this.pcrs = parts.pcrs ?? new SoftwarePcrBanks();
    this.resetCount = parts.resetCount ?? 0;
    this.poweredOn = parts.poweredOn ?? Date.now();
    this.madeAk = ak;
  }

  /** Manufactures a TPM: EK key pair, its certificate from `ca`, a storage key, and an AK if akAlg is given. */
  static create(opts: SoftwareTpmOptions): SoftwareTpm {
    const ek = generateKeyPair(opts.ekAlg);
    const ekCert = opts.ca.issueEkCertificate(opts.label, ek.publicKey);
    const ak = opts.akAlg ? SoftwareAk.generate(opts.akAlg) : undefined;
    return new SoftwareTpm({ ekPrivate: ek.privateKey, ekCert, storageKey: randomBytes(STORAGE_KEY_BYTES) }, ak);
  }

  /** The AK made with the TPM (SoftwareTpmOptions.akAlg). */
  get ak(): SoftwareAk {
    if (!this.madeAk) throw new SoftwareTpmError('this software TPM was made without an AK: load one from its blobs');
    return this.madeAk;
  }

  /** The made AK's TPMT_PUBLIC, marshaled (IBM ACS `akpub`). */
  get akPub(): Buffer {
    return this.ak.publicBytes;
  }

  get akName(): Buffer {
    return this.ak.name;
  }

  get akAlg(): KeyAlg {
    return this.ak.alg;
  }

  /** The EK private key, for keeping the TPM in a state directory. */
  exportEk(): KeyObject {
    return this.ekPrivate;
  }

  /** TPM2_Create of an AK: its blobs, to be stored and loaded again. */
  createAk(alg: KeyAlg): KeyBlobs {
    return SoftwareAk.generate(alg).seal(this.storageKey);
  }

  /** TPM2_Load of AK blobs this TPM made; SoftwareKeyBlobError otherwise. */
  loadAk(blobs: KeyBlobs): SoftwareAk {
    return SoftwareAk.unseal(this.storageKey, blobs);
  }

  /** Platform reset then TPM2_Startup(CLEAR): PCRs back to their reset values, resetCount + 1. */
  powerCycle(): void {
    this.resetCount++;
    this.poweredOn = Date.now();
    this.pcrs.reset();
  }

  /** TPM2_ActivateCredential for `ak` under the EK; throws CredentialError when not made for them. */
  activateCredential(credentialBlob: Uint8Array, secret: Uint8Array, ak: SoftwareAk = this.ak): Buffer {
    return activateCredential(this.ekPrivate, this.ekClass, ak.name, credentialBlob, secret);
  }

  /**
   * TPM2_Quote: TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE over `selection`
   * with `nonce` as extraData, signed with the AK's scheme. Returns the
   * structure without its TPM2B size and the marshaled TPMT_SIGNATURE.
   * qualifiedSigner holds the AK's name; a TPM puts the qualified name there.
   */
  quote(nonce: Buffer, selection: readonly PcrSelection[], ak: SoftwareAk = this.ak): { quoted: Buffer; signature: Buffer } {
    if (nonce.length > MAX_QUALIFYING_DATA) throw new SoftwareTpmError(`qualifyingData of ${nonce.length} bytes (at most ${MAX_QUALIFYING_DATA})`);
    const values = selectionOrder(selection).map(({ hashAlg, pcr }) => {
      const bank = bankOf(hashAlg);
      if (!bank) throw new UnsupportedPcrError(hashAlg, pcr);
      return this.pcrs.value(bank, pcr);
    });
    const quoted = marshalAttest({
      magic: TPM_GENERATED_VALUE,
      type: TPM_ST.ATTEST_QUOTE,
      qualifiedSigner: ak.name,
      extraData: nonce,
      clockInfo: { clock: BigInt(Math.max(0, Date.now() - this.poweredOn)), resetCount: this.resetCount, restartCount: 0, safe: true },
      firmwareVersion: FIRMWARE_VERSION,
      attested: { quote: { pcrSelect: [...selection], pcrDigest: pcrDigest(TPM_ALG.SHA256, values) } },
    });
    return { quoted, signature: ak.sign(quoted) };
  }
}
