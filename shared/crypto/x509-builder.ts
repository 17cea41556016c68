import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, AuthorityKeyIdentifier, BasicConstraints, Certificate, Extension as X509Extension,
  Extensions, KeyIdentifier, KeyUsage, KeyUsageFlags, Name, RelativeDistinguishedName, SubjectKeyIdentifier, SubjectPublicKeyInfo,
  TBSCertificate, Validity, Version, id_ce_authorityKeyIdentifier, id_ce_basicConstraints, id_ce_keyUsage, id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { X509Certificate, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { keyBitsSha1 } from './key-bits.js';

/** Attribute short names we put in names, with their OIDs (RFC 5280 §4.1.2.4). */
const NAME_OIDS: Record<string, string> = { CN: '2.5.4.3', O: '2.5.4.10', OU: '2.5.4.11', C: '2.5.4.6' };

export type Extension =
  | { name: 'basicConstraints'; critical?: boolean; cA: boolean }
  | { name: 'keyUsage'; critical?: boolean; digitalSignature?: boolean; keyCertSign?: boolean; cRLSign?: boolean }
  | { name: 'subjectKeyIdentifier' }
  | { name: 'authorityKeyIdentifier'; issuer: X509Certificate };

export interface CertificateSpec {
  serial: Buffer;
  /** Issuer as attributes, or the issuer certificate's DER (its subject is copied byte for byte). */
  issuer?: [string, string][];
  issuerDer?: Buffer;
  subject: [string, string][];
  notBefore: Date;
  notAfter: Date;
  /** Any key Node can export as SPKI: RSA or EC. */
  publicKey: KeyObject;
  extensions: Extension[];
  /** RSA CA key; the certificate is signed sha256WithRSAEncryption. */
  signingKey: KeyObject;
}

/** sha256WithRSAEncryption, parameters NULL (RFC 4055 §5). */
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

/**
 * Builds and signs an X.509 v3 certificate (RFC 5280 §4.1). @peculiar/asn1-x509
 * encodes the DER; Node's crypto supplies the SPKI and the signature so EC
 * AK keys are certified exactly like RSA ones.
 */
export function buildCertificate(spec: CertificateSpec): Buffer {
  const spki = spec.publicKey.export({ type: 'spki', format: 'der' });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: positiveInteger(spec.serial),
    signature: sha256WithRsa(),
    issuer: spec.issuerDer ? AsnConvert.parse(spec.issuerDer, Certificate).tbsCertificate.subject : name(spec.issuer ?? []),
    // Time picks UTCTime through 2049 and GeneralizedTime after, whole seconds (RFC 5280 §4.1.2.5).
    validity: new Validity({ notBefore: spec.notBefore, notAfter: spec.notAfter }),
    subject: name(spec.subject),
    subjectPublicKeyInfo: AsnConvert.parse(spki, SubjectPublicKeyInfo),
    extensions: new Extensions(spec.extensions.map((e) => extension(e, spec.publicKey))),
  });
  const tbsDer = AsnConvert.serialize(tbs);
  const signatureValue = sign('sha256', new Uint8Array(tbsDer), spec.signingKey);
  return Buffer.from(AsnConvert.serialize(new Certificate({ tbsCertificate: tbs, signatureAlgorithm: sha256WithRsa(), signatureValue: new Uint8Array(signatureValue).buffer })));
}

function sha256WithRsa(): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithm: SHA256_WITH_RSA, parameters: null });
}

function extension(e: Extension, publicKey: KeyObject): X509Extension {
  switch (e.name) {
    case 'basicConstraints':
      return encoded(id_ce_basicConstraints, e.critical ?? false, new BasicConstraints({ cA: e.cA }));
    case 'keyUsage': {
      // KeyUsage bits (RFC 5280 §4.2.1.3): digitalSignature(0), keyCertSign(5), cRLSign(6).
      const flags =
        (e.digitalSignature ? KeyUsageFlags.digitalSignature : 0) | (e.keyCertSign ? KeyUsageFlags.keyCertSign : 0) | (e.cRLSign ? KeyUsageFlags.cRLSign : 0);
      return encoded(id_ce_keyUsage, e.critical ?? false, new KeyUsage(flags));
    }
    case 'subjectKeyIdentifier':
      // RFC 5280 §4.2.1.2 method (1).
      return encoded(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyBitsSha1(publicKey)));
    case 'authorityKeyIdentifier':
      return encoded(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(issuerKeyIdentifier(e.issuer)) }));
  }
}

function encoded(extnID: string, critical: boolean, value: object): X509Extension {
  return new X509Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/**
 * The issuer's subjectKeyIdentifier, which RFC 5280 §4.2.1.1 says the
 * authority key identifier carries (CA certificates made before key
 * identifiers were computed from the key bits keep theirs), else method 1
 * over the issuer's key.
 */
function issuerKeyIdentifier(issuer: X509Certificate): Buffer {
  const ski = AsnConvert.parse(issuer.raw, Certificate).tbsCertificate.extensions?.find((x) => x.extnID === id_ce_subjectKeyIdentifier);
  if (ski) return Buffer.from(AsnConvert.parse(ski.extnValue, SubjectKeyIdentifier).buffer);
  return keyBitsSha1(issuer.publicKey);
}

/** One attribute per RDN, each a UTF8String (RFC 5280 §4.1.2.4). */
function name(attrs: [string, string][]): Name {
  return new Name(
    attrs.map(([k, v]) => {
      const type = NAME_OIDS[k];
      if (!type) throw new RangeError(`unknown name attribute ${k}`);
      return new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: v }) })]);
    }),
  );
}

/**
 * INTEGER contents from unsigned big-endian bytes, in the fewest octets
 * (X.690 §8.3.2: leading zeros dropped, one kept only to keep the value
 * positive); OpenSSL refuses a certificate whose serial has a redundant one.
 */
function positiveInteger(b: Buffer): ArrayBuffer {
  let start = 0;
  while (start < b.length - 1 && b[start] === 0) start++;
  const v = b.subarray(start);
  return new Uint8Array(v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v).buffer;
}

/** 16 random bytes, top bit cleared so the INTEGER stays positive (RFC 5280 §4.1.2.2). */
export function randomSerial(): Buffer {
  const s = randomBytes(16);
  s[0] = (s[0] & 0x7f) | 0x01;
  return s;
}

/**
 * A new RSA-2048 CA key and its self-signed certificate: cA=true, and key
 * usage limited to signing certificates and CRLs (RFC 5280 §4.2.1.3, §4.2.1.9).
 */
export function selfSignedCa(subject: [string, string][], notBefore: Date, notAfter: Date): { key: KeyObject; cert: X509Certificate } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = buildCertificate({
    serial: randomSerial(),
    issuer: subject,
    subject,
    notBefore,
    notAfter,
    publicKey,
    extensions: [
      { name: 'basicConstraints', critical: true, cA: true },
      { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
      { name: 'subjectKeyIdentifier' },
    ],
    signingKey: privateKey,
  });
  return { key: privateKey, cert: new X509Certificate(der) };
}
