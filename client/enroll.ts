import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { ServerEndpoint } from './server-address.js';
import { exchange } from './exchange.js';
import { parseResponse, serializeRequest } from '../shared/protocol/messages.js';
import { keyMatchesPublic } from '../shared/crypto/keys.js';
import { unmarshalPublic } from '../shared/tpm/public.js';
import type { KeyAlg } from './ak.js';
import { openAttestationTpm } from './attestation-tpm.js';
import { hostnameToSend } from './identity.js';
import type { EkAlg } from './ek.js';
import { loadAkBlobs, saveAkBlobs, saveEnrollment } from './state-dir.js';

export interface EnrollOptions {
  server: ServerEndpoint;
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
 * certificate the server issues.
 */
export async function enroll(opts: EnrollOptions): Promise<EnrollResult> {
  const hostname = hostnameToSend(opts.hostname);
  const tpm = await openAttestationTpm(opts.tcti, { timeoutMs: opts.timeoutMs, logger: opts.logger });
  try {
    await tpm.startup();
    const tpmvendor = await tpm.manufacturer();
    const ekCert = await tpm.ekCertificate(opts.ekAlg);
    const { blobs, reused } = await tpm.ensureAk(opts.alg, await loadAkBlobs(opts.stateDir, opts.alg));
    // A new AK is saved before use: the blobs the server certifies must never be lost.
    if (!reused) await saveAkBlobs(opts.stateDir, opts.alg, blobs);
    const exchangeOpts = { connectTimeoutMs: opts.timeoutMs, readTimeoutMs: opts.timeoutMs, tls: opts.server.tls };
    const challenge = parseResponse(
      'enrollrequest',
      await exchange(opts.server.host, opts.server.port, serializeRequest({
        command: 'enrollrequest',
        hostname,
        tpmvendor,
        ekcert: ekCert.der,
        akpub: blobs.publicBytes,
      }), exchangeOpts),
    );
    const secret = await tpm.activateCredential(ekCert, blobs, challenge.credentialblob, challenge.secret);
    const { akcert } = parseResponse(
      'enrollcert',
      await exchange(opts.server.host, opts.server.port, serializeRequest({ command: 'enrollcert', hostname, challenge: secret }), exchangeOpts),
    );
    const akCert = new X509Certificate(akcert);
    if (!keyMatchesPublic(akCert.publicKey, unmarshalPublic(blobs.publicBytes))) {
      throw new Error('the server certified a key other than this AK');
    }
    await saveEnrollment(opts.stateDir, { hostname, alg: opts.alg, blobs, akCertPem: akcert });
    opts.logger?.info({ hostname, ek: ekCert.template.id, alg: opts.alg, akReused: reused, genuineTpm: tpm.genuine }, 'enrolled');
    return { hostname, akCert, ekTemplate: ekCert.template.id, akReused: reused };
  } finally {
    await tpm.close();
  }
}
