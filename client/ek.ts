/**
 * The endorsement key: its certificate from the NV indices of the TCG EK
 * Credential Profile (v2.5 §2.2.1.4 low range, §2.2.1.5 high range), and the
 * key itself, recreated with TPM2_CreatePrimary from the default template
 * that matches the certificate (the EK is a primary key: the same template
 * always yields the same key, so the certificate's key proves which one).
 */
import { X509Certificate } from 'node:crypto';
import { keyMatchesPublic } from '../shared/crypto/keys.js';
import { TPM_ALG, TPM_RH } from '../shared/tpm/constants.js';
import { EK_TEMPLATES, ekTemplateForKey, type EkTemplate } from '../shared/tpm/ek-templates.js';
import { createPrimary, flushContext, type LoadedObject } from './tpm/commands/objects.js';
import { nvReadAll } from './tpm/commands/nv.js';
import { TpmError } from './tpm/response-code.js';
import type { Tpm } from './tpm/tpm.js';
import { leadingSequenceLength } from '../shared/crypto/padded-certificate.js';

export type EkAlg = 'rsa' | 'ecc';

export interface EkCertificate {
  nvIndex: number;
  template: EkTemplate;
  /** The certificate's DER, without the padding that may follow it in the NV index. */
  der: Buffer;
  cert: X509Certificate;
}

export interface Ek extends LoadedObject {
  certificate: EkCertificate;
}

export class EkCertificateError extends Error {
  override name = 'EkCertificateError';
  constructor(message: string, readonly problems: readonly string[] = []) {
    super(problems.length ? `${message}: ${problems.join('; ')}` : message);
  }
}

/** The created EK's public key is not the certificate's: wrong template, or the certificate belongs elsewhere. */
export class EkMismatchError extends Error {
  override name = 'EkMismatchError';
  constructor(readonly nvIndex: number, readonly templateId: string) {
    super(`EK created from template ${templateId} does not match the certificate in NV index 0x${nvIndex.toString(16).padStart(8, '0')}`);
  }
}

/** Reads one certificate index; undefined when the index is not defined. */
async function readCertificateAt(tpm: Tpm, nvIndex: number): Promise<EkCertificate | string | undefined> {
  let data: Buffer;
  try {
    data = (await nvReadAll(tpm, nvIndex)).data;
  } catch (err) {
    if (err instanceof TpmError && err.is('TPM_RC_HANDLE')) return undefined;
    throw err;
  }
  const where = `0x${nvIndex.toString(16).padStart(8, '0')}`;
  const len = leadingSequenceLength(data);
  if (len === undefined) return `${where} does not hold a DER certificate`;
  const der = Buffer.from(data.subarray(0, len));
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (err) {
    return `${where}: ${(err as Error).message}`;
  }
  try {
    return { nvIndex, template: ekTemplateForKey(cert.publicKey, nvIndex), der, cert };
  } catch (err) {
    return `${where}: ${(err as Error).message}`;
  }
}

/** Every EK certificate the TPM holds in the profile's indices, in EK_TEMPLATES order. */
export async function readEkCertificates(tpm: Tpm): Promise<{ found: EkCertificate[]; problems: string[] }> {
  const found: EkCertificate[] = [];
  const problems: string[] = [];
  for (const t of EK_TEMPLATES) {
    const r = await readCertificateAt(tpm, t.certIndex);
    if (typeof r === 'string') problems.push(r);
    else if (r) found.push(r);
  }
  return { found, problems };
}

function algOf(c: EkCertificate): EkAlg {
  return c.template.template.type === TPM_ALG.RSA ? 'rsa' : 'ecc';
}

/** The EK certificate to enroll with: the first of type `alg` if given, else the first found (RSA 2048 first). */
export async function findEkCertificate(tpm: Tpm, alg?: EkAlg): Promise<EkCertificate> {
  const { found, problems } = await readEkCertificates(tpm);
  const pick = found.find((c) => !alg || algOf(c) === alg);
  if (!pick) {
    const have = found.map((c) => `${c.template.id} (${c.template.description})`).join(', ') || 'none';
    throw new EkCertificateError(`no ${alg ? alg.toUpperCase() + ' ' : ''}EK certificate in the TPM (found: ${have})`, problems);
  }
  return pick;
}

/**
 * Creates the EK for `certificate` in the endorsement hierarchy and checks
 * its public key is the certificate's. The caller flushes `handle`.
 */
export async function createEk(tpm: Tpm, certificate: EkCertificate, endorsementAuth?: Buffer): Promise<Ek> {
  const obj = await createPrimary(tpm, TPM_RH.ENDORSEMENT, certificate.template.template, { hierarchyAuth: endorsementAuth });
  if (!keyMatchesPublic(certificate.cert.publicKey, obj.pub)) {
    await flushContext(tpm, obj.handle).catch(() => undefined);
    throw new EkMismatchError(certificate.nvIndex, certificate.template.id);
  }
  return { ...obj, certificate };
}
