import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { exchange } from '../shared/protocol/frame.js';
import { parseResponse, serializeRequest } from '../shared/protocol/messages.js';
import { keyMatchesPublic } from '../shared/crypto/keys.js';
import { unmarshalPublic } from '../shared/tpm/public.js';
import { activateCredential, createAk, ensureSrk, loadAk, type KeyAlg } from './ak.js';
import { createEk, findEkCertificate, type EkAlg } from './ek.js';
import { getManufacturer } from './tpm/commands/capability.js';
import { flushContext, type KeyBlobs, type LoadedObject } from './tpm/commands/objects.js';
import { ensureStarted } from './tpm/commands/startup.js';
import { Tpm } from './tpm/tpm.js';
import { TpmError } from './tpm/response-code.js';
import { loadAkBlobs, saveAkBlobs, saveEnrollment } from './state-dir.js';

export interface EnrollOptions {
  server: { host: string; port: number };
  tcti: string;
  /** AK algorithm. */
  alg: KeyAlg;
  /** Which EK certificate to prove residence with; default the first found. */
  ekAlg?: EkAlg;
  hostname: string;
  stateDir: string;
  timeoutMs?: number;
  logger?: Logger;
}

export interface EnrollResult {
  hostname: string;
  akCert: X509Certificate;
  ekTemplate: string;
  akReused: boolean;
}

/**
 * Enrollment (PROTOCOL.md): send the EK certificate and the AK public area,
 * activate the server's credential with the EK and AK (TPM 2.0 Part 3 §12.5
 * TPM2_ActivateCredential), return the recovered challenge, and keep the AK
 * certificate the server issues. Handles are flushed on every path.
 */
export async function enroll(opts: EnrollOptions): Promise<EnrollResult> {
  const tpm = await Tpm.open(opts.tcti, { timeoutMs: opts.timeoutMs });
  try {
    await ensureStarted(tpm);
    const tpmvendor = await getManufacturer(tpm);
    const ekCert = await findEkCertificate(tpm, opts.ekAlg);
    await ensureSrk(tpm);
    const { blobs, reused } = await akBlobs(tpm, opts.stateDir, opts.alg);
    const ak = await loadAk(tpm, blobs);
    try {
      const exchangeOpts = { connectTimeoutMs: opts.timeoutMs, readTimeoutMs: opts.timeoutMs };
      const challenge = parseResponse(
        'enrollrequest',
        await exchange(opts.server.host, opts.server.port, serializeRequest({
          command: 'enrollrequest',
          hostname: opts.hostname,
          tpmvendor,
          ekcert: ekCert.der,
          akpub: ak.publicBytes,
        }), exchangeOpts),
      );
      const secret = await activate(tpm, ekCert, ak, challenge.credentialblob, challenge.secret);
      const { akcert } = parseResponse(
        'enrollcert',
        await exchange(opts.server.host, opts.server.port, serializeRequest({ command: 'enrollcert', hostname: opts.hostname, challenge: secret }), exchangeOpts),
      );
      const akCert = new X509Certificate(akcert);
      if (!keyMatchesPublic(akCert.publicKey, unmarshalPublic(ak.publicBytes))) {
        throw new Error('the server certified a key other than this AK');
      }
      await saveEnrollment(opts.stateDir, { hostname: opts.hostname, alg: opts.alg, blobs, akCertPem: akcert });
      opts.logger?.info({ hostname: opts.hostname, ek: ekCert.template.id, alg: opts.alg, akReused: reused }, 'enrolled');
      return { hostname: opts.hostname, akCert, ekTemplate: ekCert.template.id, akReused: reused };
    } finally {
      await flushContext(tpm, ak.handle).catch(() => undefined);
    }
  } finally {
    await tpm.close();
  }
}

/** The stored AK if it still loads under this TPM's SRK, else a new one (saved before use). */
async function akBlobs(tpm: Tpm, dir: string, alg: KeyAlg): Promise<{ blobs: KeyBlobs; reused: boolean }> {
  const stored = await loadAkBlobs(dir, alg);
  if (stored) {
    try {
      const probe = await loadAk(tpm, stored);
      await flushContext(tpm, probe.handle);
      return { blobs: stored, reused: true };
    } catch (e) {
      // A cleared TPM or a new SRK cannot load the old blobs: make a new AK.
      if (!(e instanceof TpmError)) throw e;
    }
  }
  const blobs = await createAk(tpm, alg);
  await saveAkBlobs(dir, alg, blobs);
  return { blobs, reused: false };
}

async function activate(
  tpm: Tpm,
  ekCert: Awaited<ReturnType<typeof findEkCertificate>>,
  ak: LoadedObject,
  credentialBlob: Buffer,
  secret: Buffer,
): Promise<Buffer> {
  const ek = await createEk(tpm, ekCert);
  try {
    return await activateCredential(tpm, ek, ak, credentialBlob, secret);
  } finally {
    await flushContext(tpm, ek.handle).catch(() => undefined);
  }
}
