/**
 * A TPM spoken to in TPM 2.0 commands over a transport: /dev/tpmrm0, or the
 * swtpm and Microsoft simulators, which run the same command set. Each call
 * loads what it needs and flushes every transient handle it made, on
 * success and on failure alike.
 */
import type { PcrSelection } from '../shared/tpm/pcr-selection.js';
import { activateCredential, createAk, ensureSrk, loadAk, type KeyAlg } from './ak.js';
import type { AttestationTpm, PcrDigest } from './attestation-tpm.js';
import { createEk, findEkCertificate, type EkAlg, type EkCertificate } from './ek.js';
import { getManufacturer } from './tpm/commands/capability.js';
import { flushContext, withFlushed, type KeyBlobs, type LoadedObject } from './tpm/commands/objects.js';
import { pcrExtend } from './tpm/commands/pcr.js';
import { quote, type Quote } from './tpm/commands/quote.js';
import { ensureStarted } from './tpm/commands/startup.js';
import { TpmError } from './tpm/response-code.js';
import { Tpm } from './tpm/tpm.js';

export class HardwareTpm implements AttestationTpm {
  readonly genuine = true;

  private constructor(readonly tpm: Tpm) {}

  static async open(tcti: string, opts: { timeoutMs?: number } = {}): Promise<HardwareTpm> {
    return new HardwareTpm(await Tpm.open(tcti, { timeoutMs: opts.timeoutMs }));
  }

  startup(): Promise<void> {
    return ensureStarted(this.tpm);
  }

  manufacturer(): Promise<string> {
    return getManufacturer(this.tpm);
  }

  ekCertificate(alg?: EkAlg): Promise<EkCertificate> {
    return findEkCertificate(this.tpm, alg);
  }

  /** Under the persistent SRK (made when absent); stored blobs a cleared TPM or new SRK cannot load give way to a new AK. */
  async ensureAk(alg: KeyAlg, stored?: KeyBlobs): Promise<{ blobs: KeyBlobs; reused: boolean }> {
    await ensureSrk(this.tpm);
    if (stored) {
      try {
        await withFlushed(this.tpm, loadAk(this.tpm, stored), async () => undefined);
        return { blobs: stored, reused: true };
      } catch (e) {
        if (!(e instanceof TpmError)) throw e;
      }
    }
    return { blobs: await createAk(this.tpm, alg), reused: false };
  }

  activateCredential(ek: EkCertificate, ak: KeyBlobs, credentialBlob: Buffer, secret: Buffer): Promise<Buffer> {
    return this.withAk(ak, async (loadedAk) => {
      const loadedEk = await createEk(this.tpm, ek);
      try {
        return await activateCredential(this.tpm, loadedEk, loadedAk, credentialBlob, secret);
      } finally {
        await flushContext(this.tpm, loadedEk.handle).catch(() => undefined);
      }
    });
  }

  quote(ak: KeyBlobs, nonce: Buffer, selection: readonly PcrSelection[]): Promise<Quote> {
    return this.withAk(ak, (loaded) => quote(this.tpm, loaded.handle, nonce, selection));
  }

  extend(pcr: number, digests: readonly PcrDigest[]): Promise<void> {
    return pcrExtend(this.tpm, pcr, digests);
  }

  close(): Promise<void> {
    return this.tpm.close();
  }

  /** Loads the AK under the SRK for `fn`; the handle is flushed however `fn` ends (a failed flush changes no outcome). */
  private async withAk<T>(blobs: KeyBlobs, fn: (ak: LoadedObject) => Promise<T>): Promise<T> {
    const ak = await loadAk(this.tpm, blobs);
    try {
      return await fn(ak);
    } finally {
      await flushContext(this.tpm, ak.handle).catch(() => undefined);
    }
  }
}
