import { X509Certificate, createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { BitString, fromBER } from 'asn1js';

/** A decoded X.509 certificate, for storage as text and for display. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  /** e.g. "RSA 2048", "EC prime256v1". */
  publicKey: string;
  /** SHA-256 over the SubjectPublicKeyInfo DER, hex. */
  publicKeyFingerprint: string;
  /** SHA-256 over the whole certificate DER, hex. */
  fingerprint: string;
  /** Bits of the keyUsage extension by their RFC 5280 §4.2.1.3 names; empty without the extension. */
  keyUsage: string[];
  /** extKeyUsage purposes as OIDs (RFC 5280 §4.2.1.12), e.g. 2.23.133.8.1 for an EK; empty without the extension. */
  extendedKeyUsage: string[];
  subjectAltName: string | null;
  isCa: boolean;
}

/** One X.509 v3 extension as encoded (RFC 5280 §4.1: Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue }). */
export interface CertificateExtension {
  oid: string;
  critical: boolean;
  /** The contents of extnValue: the DER of the extension's own value. */
  value: Buffer;
}

/** The parts of a certificate's DER that Node's X509Certificate does not expose. */
export interface CertificateStructure {
  /** Certificate.signatureAlgorithm's OID. */
  signatureAlgorithm: string;
  extensions: CertificateExtension[];
}

/** A certificate or extension whose DER does not have the shape RFC 5280 gives it. */
export class CertificateFormatError extends Error {
  override name = 'CertificateFormatError';
  constructor(
    message: string,
    /** The structure that did not decode, e.g. "extensions" or "keyUsage". */
    readonly part: string,
  ) {
    super(message);
  }
}

export const OID_KEY_USAGE = '2.5.29.15';

/** KeyUsage ::= BIT STRING { digitalSignature (0) … decipherOnly (8) } (RFC 5280 §4.2.1.3). */
const KEY_USAGE_BITS = [
  'digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign',
  'encipherOnly', 'decipherOnly',
] as const;

/**
 * The signature algorithm and extensions of a certificate's DER: Certificate
 * ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }, the
 * extensions being TBSCertificate's [3] EXPLICIT field (RFC 5280 §4.1),
 * decoded by @peculiar/asn1-x509.
 */
export function certificateStructure(der: Uint8Array): CertificateStructure {
  let cert: Certificate;
  try {
    cert = AsnConvert.parse(der, Certificate);
  } catch (e) {
    throw new CertificateFormatError(`certificate is not DER: ${(e as Error).message}`, 'certificate');
  }
  return {
    signatureAlgorithm: cert.signatureAlgorithm.algorithm,
    extensions: (cert.tbsCertificate.extensions ?? []).map((ext) => ({
      oid: ext.extnID,
      critical: ext.critical,
      value: Buffer.from(ext.extnValue.buffer),
    })),
  };
}

/**
 * The names of the bits set in a keyUsage extension value, in bit order. The
 * value must be a DER BIT STRING, decoded by asn1js: primitive, with the
 * short length form (KeyUsage has at most three content bytes; X.690 §10.1,
 * §10.2); named bit 0 is the first content byte's most significant bit (X.690 §8.6).
 */
export function decodeKeyUsage(der: Uint8Array): string[] {
  const { offset, result } = der.length ? fromBER(der) : { offset: -1, result: null };
  const isDer =
    result instanceof BitString && offset === der.length && !result.error && !result.idBlock.isConstructed && !result.lenBlock.longFormUsed;
  if (!isDer || result.valueBlock.unusedBits > 7) throw new CertificateFormatError('keyUsage is not a DER BIT STRING', 'keyUsage');
  const bits = result.valueBlock.valueHexView;
  return KEY_USAGE_BITS.filter((_, i) => ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0);
}

/** Throws CertificateFormatError when the certificate's extensions do not decode. */
export function describeCertificate(cert: X509Certificate): CertificateInfo {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  const keyText =
    key.asymmetricKeyType === 'rsa'
      ? `RSA ${details.modulusLength ?? '?'}`
      : key.asymmetricKeyType === 'ec'
        ? `EC ${details.namedCurve ?? '?'}`
        : String(key.asymmetricKeyType);
  const keyUsage = certificateStructure(cert.raw).extensions.find((e) => e.oid === OID_KEY_USAGE);
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    serialNumber: cert.serialNumber.toLowerCase(),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    publicKey: keyText,
    publicKeyFingerprint: spkiFingerprint(cert),
    fingerprint: createHash('sha256').update(cert.raw).digest('hex'),
    keyUsage: keyUsage ? decodeKeyUsage(keyUsage.value) : [],
    // Node names the extKeyUsage purposes `keyUsage`.
    extendedKeyUsage: cert.keyUsage ?? [],
    subjectAltName: cert.subjectAltName ?? null,
    isCa: cert.ca,
  };
}

export function spkiFingerprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** The text dump stored beside the PEM (IBM ACS keeps `openssl x509 -text`). */
export function certificateText(cert: X509Certificate): string {
  const i = describeCertificate(cert);
  return [
    `Subject: ${i.subject}`,
    `Issuer: ${i.issuer}`,
    `Serial Number: ${i.serialNumber}`,
    `Not Before: ${i.notBefore}`,
    `Not After: ${i.notAfter}`,
    `Public Key: ${i.publicKey}`,
    `Public Key SHA-256: ${i.publicKeyFingerprint}`,
    `Key Usage: ${i.keyUsage.join(', ') || '(none)'}`,
    `Extended Key Usage: ${i.extendedKeyUsage.join(', ') || '(none)'}`,
    `Subject Alternative Name: ${i.subjectAltName ?? '(none)'}`,
    `CA: ${i.isCa}`,
    `SHA-256 Fingerprint: ${i.fingerprint}`,
  ].join('\n');
}

export function toPem(cert: X509Certificate): string {
  return cert.toString();
}

function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

/** The subject's common name, unescaped (X509Certificate.subject escapes RFC 4514 specials). */
export function subjectCommonName(cert: X509Certificate): string | null {
  const cn = (cert.toLegacyObject().subject as unknown as Record<string, string | string[]> | undefined)?.CN;
  return Array.isArray(cn) ? cn[0] : (cn ?? null);
}
