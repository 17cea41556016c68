import { X509Certificate, createHash } from 'node:crypto';

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
  keyUsage: string[];
  subjectAltName: string | null;
  isCa: boolean;
}

export function describeCertificate(cert: X509Certificate): CertificateInfo {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  const keyText =
    key.asymmetricKeyType === 'rsa'
      ? `RSA ${details.modulusLength ?? '?'}`
      : key.asymmetricKeyType === 'ec'
        ? `EC ${details.namedCurve ?? '?'}`
        : String(key.asymmetricKeyType);
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    serialNumber: cert.serialNumber.toLowerCase(),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    publicKey: keyText,
    publicKeyFingerprint: spkiFingerprint(cert),
    fingerprint: createHash('sha256').update(cert.raw).digest('hex'),
    keyUsage: cert.keyUsage ?? [],
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
