/**
 * The EK certificate trust anchors and the chain check an enrollment's EK
 * certificate must pass.
 */
import { X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { derSequenceLength } from '../shared/crypto/der.js';

/** The EK certificate chain did not verify (answered with 90000007). */
export class CertificateError extends Error {
  override name = 'CertificateError';
}

const CERT_FILE = /\.(pem|crt|cer|der)$/i;
const MAX_CHAIN = 6;

/**
 * Trusted EK CA certificates. Every configured certificate is a trust anchor
 * (vendor roots and intermediates alike, as TPM vendors publish both); an EK
 * certificate is accepted when its issuer chain, through the optional
 * intermediate the client sent, reaches one of them with valid signatures and
 * the non-anchor certificates are within their validity period
 * (TCG EK Credential Profile §2.2: the EK certificate is issued by the TPM
 * manufacturer's CA).
 */
export class TrustStore {
  private readonly anchors: X509Certificate[] = [];

  get size(): number {
    return this.anchors.length;
  }

  add(cert: X509Certificate): void {
    if (!this.anchors.some((a) => a.fingerprint256 === cert.fingerprint256)) this.anchors.push(cert);
  }

  /** Loads every certificate file in each directory (PEM with one or more certificates, or DER). */
  static async load(dirs: string[]): Promise<TrustStore> {
    const store = new TrustStore();
    for (const dir of dirs) {
      const names = (await readdir(dir)).filter((n) => CERT_FILE.test(n)).sort();
      for (const name of names) {
        for (const cert of parseCertificates(await readFile(join(dir, name)))) store.add(cert);
      }
    }
    return store;
  }

  /** Returns the chain from leaf to anchor, or throws CertificateError saying why. */
  verify(leaf: X509Certificate, intermediates: X509Certificate[] = [], now = new Date()): X509Certificate[] {
    const chain = [leaf];
    let current = leaf;
    for (let depth = 0; depth < MAX_CHAIN; depth++) {
      checkValidity(current, now);
      const anchor = this.anchors.find((a) => issuedBy(current, a));
      if (anchor) return [...chain, anchor];
      const next = intermediates.find((c) => !chain.includes(c) && issuedBy(current, c));
      if (!next) {
        throw new CertificateError(`no trusted CA issued "${oneLine(current.subject)}" (issuer "${oneLine(current.issuer)}")`);
      }
      if (!next.ca) throw new CertificateError(`"${oneLine(next.subject)}" is not a CA certificate`);
      chain.push(next);
      current = next;
    }
    throw new CertificateError('certificate chain too long');
  }
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function checkValidity(cert: X509Certificate, now: Date): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (!(now >= from)) throw new CertificateError(`certificate "${oneLine(cert.subject)}" is not valid before ${from.toISOString()}`);
  if (!(now <= to)) throw new CertificateError(`certificate "${oneLine(cert.subject)}" expired ${to.toISOString()}`);
}

function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

/** Parses PEM (any number of certificates) or a single DER certificate. */
export function parseCertificates(data: Buffer): X509Certificate[] {
  const text = data.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return blocks.map((b) => new X509Certificate(b));
  }
  return [new X509Certificate(derCertificate(data))];
}

/**
 * Cuts a DER certificate out of an NV index dump. IBM's client sends the whole
 * NV index, so the DER SEQUENCE may be followed by 0xFF padding: the outer
 * length (X.690 §8.1.3) says where the certificate ends.
 */
export function derCertificate(data: Buffer): Buffer {
  if (data.length < 2 || data[0] !== 0x30) throw new CertificateError('certificate is not a DER SEQUENCE');
  const length = derSequenceLength(data);
  if (length === undefined) throw new CertificateError('certificate is truncated or has a malformed DER length');
  const rest = data.subarray(length);
  if (!rest.every((b) => b === 0xff || b === 0x00)) throw new CertificateError('unexpected bytes after the certificate');
  return data.subarray(0, length);
}

/** Parses a DER certificate (padding allowed), mapping parse failures to CertificateError. */
export function parseDerCertificate(data: Buffer): X509Certificate {
  const der = derCertificate(data);
  try {
    return new X509Certificate(der);
  } catch (e) {
    throw new CertificateError(`malformed certificate: ${(e as Error).message}`);
  }
}
