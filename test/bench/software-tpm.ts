/**
 * A fake TPM 2.0 for load generation only. It holds real keys and does the
 * real cryptography — ActivateCredential with the EK private key (TPM 2.0
 * Part 3 §12.5), TPM2_Quote's TPMS_ATTEST signed by the AK (Part 3 §18.4),
 * PCR extend (Part 1 §17.2) — but it keeps every private key in this
 * process's memory, so it proves nothing a real TPM proves. Tests use real
 * swtpm processes; the benchmark uses this so that hundreds of hosts fit on
 * one machine.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { activateCredential, type EkClass } from '../../shared/crypto/make-credential.js';
import { publicWithKey } from '../../shared/crypto/keys.js';
import { pcrDigest } from '../../shared/crypto/quote.js';
import { initialPcrValue } from '../../shared/eventlog/firmware-replay.js';
import { extendPcr } from '../../shared/eventlog/pcr-values.js';
import { marshalAttest } from '../../shared/tpm/attest.js';
import { HASH_ALGS, TPM_ALG, TPM_ECC, TPM_GENERATED_VALUE, TPM_ST, TPMA_OBJECT } from '../../shared/tpm/constants.js';
import { ekTemplateForKey } from '../../shared/tpm/ek-templates.js';
import { objectName } from '../../shared/tpm/name.js';
import { selectionOrder, type PcrSelection } from '../../shared/tpm/pcr-selection.js';
import { marshalPublic, NULL_SYM, type TpmPublic } from '../../shared/tpm/public.js';
import { marshalSignature } from '../../shared/tpm/signature.js';
import type { BenchEkCa } from './ek-ca.js';

export type KeyAlg = 'rsa' | 'ecc';

/** The banks this TPM implements. */
export type Bank = 'sha1' | 'sha256';
export const BANKS: readonly Bank[] = ['sha1', 'sha256'];
export type BankDigests = Record<Bank, Buffer>;

const PCR_COUNT = 24;
const FIRMWARE_VERSION = 0x20240101n;

/** The selection names a bank or PCR this TPM does not have (a TPM answers TPM_RC_PCR). */
export class UnsupportedPcrError extends Error {
  override name = 'UnsupportedPcrError';
  constructor(readonly hashAlg: number, readonly pcr: number) {
    super(`PCR ${pcr} of bank 0x${hashAlg.toString(16).padStart(4, '0')} is not implemented`);
  }
}

/**
 * A restricted signing key as TPM2_Create makes an AK (TPM 2.0 Part 1 §25.2):
 * fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | restricted |
 * sign, nameAlg SHA-256, RSASSA-SHA256 (RSA 2048) or ECDSA-SHA256 (P-256).
 */
export function akTemplate(alg: KeyAlg): TpmPublic {
  const objectAttributes = TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.sensitiveDataOrigin |
    TPMA_OBJECT.userWithAuth | TPMA_OBJECT.restricted | TPMA_OBJECT.sign;
  const common = { nameAlg: TPM_ALG.SHA256, objectAttributes, authPolicy: Buffer.alloc(0) };
  if (alg === 'rsa') {
    return {
      ...common,
      type: TPM_ALG.RSA,
      parameters: { symmetric: NULL_SYM, scheme: { scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256 }, keyBits: 2048, exponent: 0 },
      unique: { n: Buffer.alloc(0) },
    };
  }
  return {
    ...common,
    type: TPM_ALG.ECC,
    parameters: {
      symmetric: NULL_SYM,
      scheme: { scheme: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256 },
      curveId: TPM_ECC.NIST_P256,
      kdf: { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL },
    },
    unique: { x: Buffer.alloc(0), y: Buffer.alloc(0) },
  };
}

function keyPair(alg: KeyAlg): { privateKey: KeyObject; publicKey: KeyObject } {
  return alg === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export interface SoftwareTpmOptions {
  /** Names the EK certificate's subject. */
  label: string;
  ekAlg: KeyAlg;
  akAlg: KeyAlg;
  ca: BenchEkCa;
}

/** PCRs 0-23 in the SHA-1 and SHA-256 banks, with the TPM's reset values and extend. */
export class PcrBanks {
  private values: Record<Bank, Buffer[]> = { sha1: [], sha256: [] };

  constructor() {
    this.reset();
  }

  /** Every PCR back to its value after TPM2_Startup(CLEAR) (0xFF… for PCRs 17-22, zeros elsewhere). */
  reset(): void {
    for (const bank of BANKS) {
      this.values[bank] = Array.from({ length: PCR_COUNT }, (_, pcr) => initialPcrValue(bank, pcr, null));
    }
  }

  /** TPM2_PCR_Extend with one digest per bank. */
  extend(pcr: number, digests: BankDigests): void {
    for (const bank of BANKS) this.values[bank][pcr] = extendPcr(bank, this.values[bank][pcr], digests[bank]);
  }

  value(bank: Bank, pcr: number): Buffer {
    return this.values[bank][pcr];
  }
}

export class SoftwareTpm {
  /** EK certificate DER, as read from the EK certificate NV index. */
  readonly ekCert: Buffer;
  /** The AK's TPMT_PUBLIC, marshaled (IBM ACS `akpub`). */
  readonly akPub: Buffer;
  readonly akName: Buffer;
  readonly akAlg: KeyAlg;
  /** TPMS_CLOCK_INFO.resetCount: counts power cycles. */
  resetCount = 0;
  private readonly ekPrivate: KeyObject;
  private readonly ekClass: EkClass;
  private readonly akPrivate: KeyObject;
  readonly pcrs = new PcrBanks();
  private poweredOn = performance.now();

  private constructor(opts: SoftwareTpmOptions) {
    const ek = keyPair(opts.ekAlg);
    this.ekPrivate = ek.privateKey;
    this.ekClass = ekTemplateForKey(ek.publicKey).ekClass;
    this.ekCert = opts.ca.issueEkCertificate(opts.label, ek.publicKey);
    const ak = keyPair(opts.akAlg);
    this.akPrivate = ak.privateKey;
    this.akAlg = opts.akAlg;
    const akPublic = publicWithKey(akTemplate(opts.akAlg), ak.publicKey);
    this.akPub = marshalPublic(akPublic);
    this.akName = objectName(akPublic);
  }

  static create(opts: SoftwareTpmOptions): SoftwareTpm {
    return new SoftwareTpm(opts);
  }

  /** Platform reset then TPM2_Startup(CLEAR): PCRs back to their reset values, resetCount + 1. */
  powerCycle(): void {
    this.resetCount++;
    this.poweredOn = performance.now();
    this.pcrs.reset();
  }

  /** TPM2_ActivateCredential for the AK under the EK; throws CredentialError when not made for them. */
  activateCredential(credentialBlob: Uint8Array, secret: Uint8Array): Buffer {
    return activateCredential(this.ekPrivate, this.ekClass, this.akName, credentialBlob, secret);
  }

  /**
   * TPM2_Quote: TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE over `selection`
   * with `nonce` as extraData, signed with the AK's scheme. Returns the
   * structure without its TPM2B size and the marshaled TPMT_SIGNATURE.
   * qualifiedSigner holds the AK's name; a TPM puts the qualified name there.
   */
  quote(nonce: Buffer, selection: PcrSelection[]): { quoted: Buffer; signature: Buffer } {
    const values = selectionOrder(selection).map(({ hashAlg, pcr }) => {
      const bank = HASH_ALGS.get(hashAlg)?.name;
      if ((bank !== 'sha1' && bank !== 'sha256') || pcr >= PCR_COUNT) throw new UnsupportedPcrError(hashAlg, pcr);
      return this.pcrs.value(bank, pcr);
    });
    const quoted = marshalAttest({
      magic: TPM_GENERATED_VALUE,
      type: TPM_ST.ATTEST_QUOTE,
      qualifiedSigner: this.akName,
      extraData: nonce,
      clockInfo: {
        clock: BigInt(Math.floor(performance.now() - this.poweredOn)),
        resetCount: this.resetCount,
        restartCount: 0,
        safe: true,
      },
      firmwareVersion: FIRMWARE_VERSION,
      attested: { quote: { pcrSelect: selection, pcrDigest: pcrDigest(TPM_ALG.SHA256, values) } },
    });
    if (this.akAlg === 'rsa') {
      const sig = sign('sha256', quoted, this.akPrivate);
      return { quoted, signature: marshalSignature({ sigAlg: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256, sig }) };
    }
    const rs = sign('sha256', quoted, { key: this.akPrivate, dsaEncoding: 'ieee-p1363' });
    return {
      quoted,
      signature: marshalSignature({ sigAlg: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256, r: rs.subarray(0, 32), s: rs.subarray(32) }),
    };
  }
}
