/**
 * The software TPM behind the TCTI `software:DIR`, kept in DIR the way
 * swtpm keeps a TPM in its state directory: the first open manufactures it
 * (EK, EK certificate, storage key), every later open, in this process or
 * another, finds the same keys and PCR values, so `acs-client extend`,
 * `enroll` and `attest` work on it one after the other. It runs inside the
 * client process and its private keys are in DIR: it is not a TPM, and its
 * manufacturer, EK certificate and log lines all say so. Like swtpm, it
 * serves one user at a time.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import type { PcrSelection } from '../../shared/tpm/pcr-selection.js';
import type { KeyAlg } from '../ak.js';
import type { AttestationTpm, PcrDigest } from '../attestation-tpm.js';
import { EkCertificateError, EkMismatchError, type EkAlg, type EkCertificate } from '../ek.js';
import type { KeyBlobs } from '../tpm/commands/objects.js';
import type { Quote } from '../tpm/commands/quote.js';
import { PCR_COUNT } from '../../shared/tpm/pcr-banks.js';
import { bankOf, SoftwarePcrBanks, UnsupportedPcrError, type BankDigests } from './pcr-banks.js';
import { SoftwareKeyBlobError } from './software-ak.js';
import { SoftwareEkCa } from './software-ek-ca.js';
import { SOFTWARE_TPM_MANUFACTURER, SoftwareTpm } from './software-tpm.js';

/** What the demo and the client say wherever the software TPM is used. */
export const SOFTWARE_TPM_NOTICE =
  'software TPM (in-process, not a real TPM): its keys are in a file, so its quotes prove nothing about a machine';

export const SOFTWARE_TPM_STATE_FILE = 'software-tpm.json';
const STATE_VERSION = 1;
/** A state file is a few KiB; anything much larger is not one. */
const MAX_STATE_BYTES = 64 * 1024;

/** DIR holds no usable software TPM. */
export class SoftwareTpmStateError extends Error {
  override name = 'SoftwareTpmStateError';
  constructor(readonly dir: string, message: string, options?: { cause?: unknown }) {
    super(`software TPM in ${dir}: ${message}`, options);
  }
}

interface StateJson {
  version: number;
  /** PKCS#8 PEM. */
  ekPrivateKey: string;
  /** DER, base64. */
  ekCertificate: string;
  /** hex */
  storageKey: string;
  resetCount: number;
  poweredOn: number;
  pcrs: ReturnType<SoftwarePcrBanks['snapshot']>;
}

function toJson(tpm: SoftwareTpm): StateJson {
  return {
    version: STATE_VERSION,
    ekPrivateKey: tpm.exportEk().export({ type: 'pkcs8', format: 'pem' }).toString(),
    ekCertificate: tpm.ekCert.toString('base64'),
    storageKey: tpm.storageKey.toString('hex'),
    resetCount: tpm.resetCount,
    poweredOn: tpm.poweredOn,
    pcrs: tpm.pcrs.snapshot(),
  };
}

function fromJson(text: string): SoftwareTpm {
  const s = JSON.parse(text) as Partial<StateJson> | null;
  if (s?.version !== STATE_VERSION) throw new Error(`state version ${String(s?.version)}, expected ${STATE_VERSION}`);
  if (typeof s.ekPrivateKey !== 'string' || typeof s.ekCertificate !== 'string' || typeof s.storageKey !== 'string') {
    throw new Error('EK or storage key missing');
  }
  if (!Number.isSafeInteger(s.resetCount) || !Number.isSafeInteger(s.poweredOn)) throw new Error('counters missing');
  const ekPrivate = createPrivateKey(s.ekPrivateKey);
  const ekCert = Buffer.from(s.ekCertificate, 'base64');
  if (!new X509Certificate(ekCert).publicKey.equals(createPublicKey(ekPrivate))) throw new Error('the EK certificate is not the EK\'s');
  const pcrs = new SoftwarePcrBanks();
  pcrs.restore(s.pcrs);
  return new SoftwareTpm({ ekPrivate, ekCert, storageKey: Buffer.from(s.storageKey, 'hex'), pcrs, resetCount: s.resetCount, poweredOn: s.poweredOn });
}

/** Writes the state file whole or not at all (a new file renamed over the old one); 0600: it holds private keys. */
async function save(dir: string, tpm: SoftwareTpm): Promise<void> {
  const file = join(dir, SOFTWARE_TPM_STATE_FILE);
  await writeFile(`${file}.new`, JSON.stringify(toJson(tpm)), { mode: 0o600 });
  await rename(`${file}.new`, file);
}

async function load(dir: string): Promise<SoftwareTpm | undefined> {
  const file = join(dir, SOFTWARE_TPM_STATE_FILE);
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SoftwareTpmStateError(dir, (err as Error).message, { cause: err });
  }
  if (size > MAX_STATE_BYTES) throw new SoftwareTpmStateError(dir, `${SOFTWARE_TPM_STATE_FILE} has ${size} bytes`);
  try {
    return fromJson(await readFile(file, 'utf8'));
  } catch (err) {
    throw new SoftwareTpmStateError(dir, `${SOFTWARE_TPM_STATE_FILE}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Manufactures a software TPM in `dir` (created, 0700) with an EK certified
 * by `ca`; `label` names its EK certificate. Refuses a directory that
 * already holds one.
 */
export async function provisionSoftwareTpm(dir: string, opts: { ca: SoftwareEkCa; label: string; ekAlg?: KeyAlg }): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (await load(dir)) throw new SoftwareTpmStateError(dir, 'already holds a software TPM');
  await save(dir, SoftwareTpm.create({ label: opts.label, ekAlg: opts.ekAlg ?? 'rsa', ca: opts.ca }));
}

/**
 * Opens the software TPM in `dir`. An empty or missing `dir` gets a new one
 * whose EK is certified by a CA of its own: its certificate is written to
 * `dir` (SOFTWARE_EK_CA_FILE) for the server's --roots.
 */
export async function openSoftwareTpm(dir: string): Promise<SoftwareAttestationTpm> {
  if (!dir) throw new SoftwareTpmStateError(dir, 'the TCTI is software:DIR, DIR the state directory');
  const tpm = await load(dir);
  if (tpm) return new SoftwareAttestationTpm(dir, tpm);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await SoftwareEkCa.create(dir);
  const made = SoftwareTpm.create({ label: basename(dir), ekAlg: 'rsa', ca });
  await save(dir, made);
  return new SoftwareAttestationTpm(dir, made, ca.certFile);
}

const algOf = (type: number): EkAlg => (type === TPM_ALG.RSA ? 'rsa' : 'ecc');

export class SoftwareAttestationTpm implements AttestationTpm {
  readonly genuine = false;
  private changed = false;

  /**
   * `ekCaFile`: the certificate of the CA made with this TPM when it was
   * manufactured on this open; the server must trust it.
   */
  constructor(readonly dir: string, readonly tpm: SoftwareTpm, readonly ekCaFile?: string) {}

  /** A software TPM is started when it is opened. */
  async startup(): Promise<void> {}

  async manufacturer(): Promise<string> {
    return SOFTWARE_TPM_MANUFACTURER;
  }

  async ekCertificate(alg?: EkAlg): Promise<EkCertificate> {
    const template = this.tpm.ekTemplate;
    if (alg && algOf(template.template.type) !== alg) {
      throw new EkCertificateError(`no ${alg.toUpperCase()} EK certificate in the TPM (found: ${template.id} (${template.description}))`);
    }
    return { nvIndex: template.certIndex, template, der: Buffer.from(this.tpm.ekCert), cert: new X509Certificate(this.tpm.ekCert) };
  }

  async ensureAk(alg: KeyAlg, stored?: KeyBlobs): Promise<{ blobs: KeyBlobs; reused: boolean }> {
    if (stored) {
      try {
        this.tpm.loadAk(stored);
        return { blobs: stored, reused: true };
      } catch (e) {
        // Blobs of another (or an earlier) software TPM: make a new AK, as a cleared TPM would need.
        if (!(e instanceof SoftwareKeyBlobError)) throw e;
      }
    }
    return { blobs: this.tpm.createAk(alg), reused: false };
  }

  async activateCredential(ek: EkCertificate, ak: KeyBlobs, credentialBlob: Buffer, secret: Buffer): Promise<Buffer> {
    if (!ek.der.equals(this.tpm.ekCert)) throw new EkMismatchError(ek.nvIndex, ek.template.id);
    return this.tpm.activateCredential(credentialBlob, secret, this.tpm.loadAk(ak));
  }

  async quote(ak: KeyBlobs, nonce: Buffer, selection: readonly PcrSelection[]): Promise<Quote> {
    return this.tpm.quote(nonce, selection, this.tpm.loadAk(ak));
  }

  /** Digests for banks this TPM does not have are not used (TPM 2.0 Part 3 §22.2.1). */
  async extend(pcr: number, digests: readonly PcrDigest[]): Promise<void> {
    if (!Number.isInteger(pcr) || pcr < 0 || pcr >= PCR_COUNT) throw new UnsupportedPcrError(digests[0]?.hashAlg ?? TPM_ALG.SHA256, pcr);
    const byBank: Partial<BankDigests> = {};
    for (const d of digests) {
      const bank = bankOf(d.hashAlg);
      if (bank) byBank[bank] = d.digest;
    }
    this.tpm.pcrs.extend(pcr, byBank);
    this.changed = true;
  }

  /** Keeps changed PCR values for the next open. */
  async close(): Promise<void> {
    if (this.changed) await save(this.dir, this.tpm);
    this.changed = false;
  }
}
