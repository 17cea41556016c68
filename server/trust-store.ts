/**
 * The EK certificate trust anchors and the chain check an enrollment's EK
 * certificate must pass. Issuer selection (name, authority/subject key
 * identifier, signature: RFC 5280 §4.2.1.1, §6.1.3) is @peculiar/x509's
 * chain builder; this file adds what the builder leaves to its caller:
 * where the chain stops, validity periods and the CA flag. A matching key
 * identifier is enough (RFC 5280 §4.2.1.1 allows identifying the issuer by
 * either form): Infineon's re-issued EK root no longer has the serial its
 * intermediates' authorityCertSerialNumber names, which OpenSSL's issuer
 * check refused. It costs about
 * 3 ms per enrollment against the 47 shipped anchors on a loaded 2-core
 * machine (Node's checkIssued loop took 0.05 ms): once per machine, not per
 * attestation.
 */
import 'reflect-metadata'; // @peculiar/x509 registers its algorithms through tsyringe, which needs the Reflect metadata API
import * as x509 from '@peculiar/x509';
import { X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { leadingSequenceLength } from '../shared/crypto/padded-certificate.js';

/** The EK certificate chain did not verify (answered with 90000007). */
export class CertificateError extends Error {
  override name = 'CertificateError';
}

const CERT_FILE = /\.(pem|crt|cer|der)$/i;
const MAX_CHAIN = 6;

/** A certificate as the rest of the server holds it, and as the chain builder reads it. */
interface ChainEntry {
  cert: X509Certificate;
  parsed: x509.X509Certificate;
}

function chainEntry(cert: X509Certificate): ChainEntry {
  try {
    return { cert, parsed: new x509.X509Certificate(cert.raw) };
  } catch (e) {
    throw new CertificateError(`malformed certificate "${oneLine(cert.subject)}": ${(e as Error).message}`);
  }
}

/**
 * Trusted EK CA certificates. Every configured certificate is a trust anchor
 * (vendor roots and intermediates alike, as TPM vendors publish both); an EK
 * certificate is accepted when its issuer chain, through the optional
 * intermediate the client sent, reaches one of them with valid signatures and
 * the non-anchor certificates are within their validity period
 * (TCG EK Credential Profile §2.2: the EK certificate is issued by the TPM
 * manufacturer's CA). Anchors are trusted as configured, expired or not
 * (RFC 5280 §6.1.1 (d): the trust anchor is an input, not a path member).
 */
export class TrustStore {
  private readonly anchors: ChainEntry[] = [];

  get size(): number {
    return this.anchors.length;
  }

  add(cert: X509Certificate): void {
    if (!this.anchors.some((a) => a.cert.fingerprint256 === cert.fingerprint256)) this.anchors.push(chainEntry(cert));
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

  /**
   * Returns the chain from leaf to the first anchor that issued it, or throws
   * CertificateError saying why. Anchors are preferred over the supplied
   * intermediates at every step; the builder may go on past the first
   * anchor, and that part of its chain is not looked at.
   */
  async verify(leaf: X509Certificate, intermediates: X509Certificate[] = [], now = new Date()): Promise<X509Certificate[]> {
    const candidates = [...this.anchors, ...intermediates.map(chainEntry)];
    const entry = chainEntry(leaf);
    let built: x509.X509Certificate[];
    try {
      built = await new x509.X509ChainBuilder({ certificates: candidates.map((c) => c.parsed) }).build(entry.parsed);
    } catch (e) {
      // A circular chain, or an extension the builder reads (authorityKeyIdentifier) that did not decode.
      throw new CertificateError(`no chain for "${oneLine(leaf.subject)}": ${(e as Error).message}`);
    }
    const chain = [entry];
    for (const [i, current] of chain.entries()) {
      if (i >= MAX_CHAIN) throw new CertificateError('certificate chain too long');
      checkValidity(current, now);
      const next = candidates.find((c) => c.parsed === built[i + 1]);
      if (!next) {
        throw new CertificateError(`no trusted CA issued "${oneLine(current.cert.subject)}" (issuer "${oneLine(current.cert.issuer)}")`);
      }
      if (this.anchors.includes(next)) return [...chain, next].map((c) => c.cert);
      // RFC 5280 §4.2.1.9: only a certificate asserting cA may issue others.
      if (!next.parsed.getExtension(x509.BasicConstraintsExtension)?.ca) {
        throw new CertificateError(`"${oneLine(next.cert.subject)}" is not a CA certificate`);
      }
      chain.push(next);
    }
    throw new CertificateError('certificate chain too long');
  }
}

/** RFC 5280 §6.1.3 (a)(2): every certificate on the path below the anchor must be within its validity period. */
function checkValidity({ cert, parsed }: ChainEntry, now: Date): void {
  if (!(now >= parsed.notBefore)) {
    throw new CertificateError(`certificate "${oneLine(cert.subject)}" is not valid before ${parsed.notBefore.toISOString()}`);
  }
  if (!(now <= parsed.notAfter)) throw new CertificateError(`certificate "${oneLine(cert.subject)}" expired ${parsed.notAfter.toISOString()}`);
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
 * NV index, so the DER SEQUENCE may be followed by 0xFF (or zero) padding.
 */
export function derCertificate(data: Buffer): Buffer {
  if (data.length < 2 || data[0] !== 0x30) throw new CertificateError('certificate is not a DER SEQUENCE');
  const length = leadingSequenceLength(data);
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
