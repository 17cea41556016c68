/**
 * What enrollment, attestation and log replay ask of a TPM, behind one
 * interface with two implementations, chosen by the TCTI string:
 *
 *   device:PATH, swtpm:HOST:PORT, mssim:HOST:PORT   a TPM spoken to in TPM 2.0
 *                                                   commands (hardware-tpm.ts)
 *   software:DIR                                    the demo's software TPM, kept in DIR
 *                                                   (simulator/software-tpm-dir.ts): not a TPM
 *
 * Keys cross the interface as blobs, never as handles, so every transient
 * object is loaded and flushed inside one call.
 */
import type { Logger } from 'pino';
import type { PcrSelection } from '../shared/tpm/pcr-selection.js';
import type { KeyAlg } from './ak.js';
import type { EkAlg, EkCertificate } from './ek.js';
import { HardwareTpm } from './hardware-tpm.js';
import { openSoftwareTpm, SOFTWARE_TPM_NOTICE } from './simulator/software-tpm-dir.js';
import type { KeyBlobs } from './tpm/commands/objects.js';
import type { Quote } from './tpm/commands/quote.js';
import { DEFAULT_TCTI } from './tpm/transport.js';

/** One bank's digest for TPM2_PCR_Extend. */
export interface PcrDigest {
  hashAlg: number;
  digest: Buffer;
}

export interface AttestationTpm {
  /** False for the software TPM: its keys are in this process, so its quotes prove nothing about a machine. */
  readonly genuine: boolean;
  /** TPM2_Startup(CLEAR) unless already started (on a real host the firmware has sent it). */
  startup(): Promise<void>;
  /** TPM_PT_MANUFACTURER as 4 characters (IBM ACS `tpmvendor`). */
  manufacturer(): Promise<string>;
  /** The EK certificate to enroll with: the first of type `alg` if given, else the first found. */
  ekCertificate(alg?: EkAlg): Promise<EkCertificate>;
  /** `stored` if this TPM still loads it (reused), else the blobs of a new AK of type `alg`. */
  ensureAk(alg: KeyAlg, stored?: KeyBlobs): Promise<{ blobs: KeyBlobs; reused: boolean }>;
  /**
   * TPM2_ActivateCredential (TPM 2.0 Part 3 §12.5) with the EK of `ek` and
   * the AK: the credential the server protected to both, or an error when
   * it was made for other keys.
   */
  activateCredential(ek: EkCertificate, ak: KeyBlobs, credentialBlob: Buffer, secret: Buffer): Promise<Buffer>;
  /** TPM2_Quote (Part 3 §18.4) by the AK over `selection` with `nonce` as qualifyingData. */
  quote(ak: KeyBlobs, nonce: Buffer, selection: readonly PcrSelection[]): Promise<Quote>;
  /** TPM2_PCR_Extend (Part 3 §22.2) of one PCR, one digest per bank. */
  extend(pcr: number, digests: readonly PcrDigest[]): Promise<void>;
  close(): Promise<void>;
}

const SOFTWARE_PREFIX = 'software:';

export function isSoftwareTcti(tcti: string): boolean {
  return tcti.startsWith(SOFTWARE_PREFIX);
}

/**
 * Opens the TPM `tcti` names. The software TPM is announced as a warning
 * every time it is opened, so no log of its use can be mistaken for a TPM's.
 */
export async function openAttestationTpm(
  tcti: string = DEFAULT_TCTI,
  opts: { timeoutMs?: number; logger?: Logger } = {},
): Promise<AttestationTpm> {
  if (!isSoftwareTcti(tcti)) return HardwareTpm.open(tcti, opts);
  const tpm = await openSoftwareTpm(tcti.slice(SOFTWARE_PREFIX.length));
  // A TPM made on this open has an EK CA of its own, which the server must be given as a trust root.
  opts.logger?.warn({ tcti, ...(tpm.ekCaFile ? { newEkCaCertificate: tpm.ekCaFile } : {}) }, SOFTWARE_TPM_NOTICE);
  return tpm;
}
