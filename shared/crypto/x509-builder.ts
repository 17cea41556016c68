import { X509Certificate, createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;

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
  /** Any key Node can export as SPKI: RSA or EC, which node-forge alone cannot certify. */
  publicKey: KeyObject;
  extensions: Extension[];
  /** RSA CA key; the certificate is signed sha256WithRSAEncryption. */
  signingKey: KeyObject;
}

/**
 * Builds and signs an X.509 v3 certificate (RFC 5280 §4.1). node-forge
 * assembles the DER; Node's crypto supplies the SPKI and the signature so EC
 * AK keys are certified exactly like RSA ones.
 */
export function buildCertificate(spec: CertificateSpec): Buffer {
  const sigAlg = algorithmIdentifier('1.2.840.113549.1.1.11'); // sha256WithRSAEncryption
  const spki = spec.publicKey.export({ type: 'spki', format: 'der' });
  const tbs = seq([
    ctx(0, [int(Buffer.from([2]))]),
    int(spec.serial),
    sigAlg,
    spec.issuerDer ? subjectOf(spec.issuerDer) : name(spec.issuer ?? []),
    seq([time(spec.notBefore), time(spec.notAfter)]),
    name(spec.subject),
    fromDer(spki),
    ctx(3, [seq(spec.extensions.map((e) => extension(e, spki)))]),
  ]);
  const tbsDer = toDer(tbs);
  const signature = sign('sha256', tbsDer, spec.signingKey);
  return toDer(seq([fromDer(tbsDer), algorithmIdentifier('1.2.840.113549.1.1.11'), bitString(signature)]));
}

function extension(e: Extension, spki: Buffer): Asn1 {
  switch (e.name) {
    case 'basicConstraints':
      return ext('2.5.29.19', e.critical ?? false, seq(e.cA ? [bool(true)] : []));
    case 'keyUsage': {
      // KeyUsage bits (RFC 5280 §4.2.1.3): digitalSignature(0), keyCertSign(5), cRLSign(6).
      let bits = 0;
      if (e.digitalSignature) bits |= 0x80;
      if (e.keyCertSign) bits |= 0x04;
      if (e.cRLSign) bits |= 0x02;
      return ext('2.5.29.15', e.critical ?? false, bitString(Buffer.from([bits]), unusedBits(bits)));
    }
    case 'subjectKeyIdentifier':
      return ext('2.5.29.14', false, octets(keyIdentifier(spki)));
    case 'authorityKeyIdentifier': {
      const issuerSpki = e.issuer.publicKey.export({ type: 'spki', format: 'der' });
      return ext('2.5.29.35', false, seq([asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, bin(keyIdentifier(issuerSpki)))]));
    }
  }
}

/** Method 1 of RFC 5280 §4.2.1.2: SHA-1 of the subjectPublicKey BIT STRING contents. */
function keyIdentifier(spki: Buffer): Buffer {
  const parsed = fromDer(spki);
  const bits = (parsed.value as Asn1[])[1].value as string;
  return createHash('sha1').update(Buffer.from(bits, 'binary').subarray(1)).digest();
}

function unusedBits(b: number): number {
  if (b === 0) return 0;
  let n = 0;
  while ((b & (1 << n)) === 0) n++;
  return n;
}

function subjectOf(certDer: Buffer): Asn1 {
  const tbs = (fromDer(certDer).value as Asn1[])[0];
  const fields = tbs.value as Asn1[];
  // With the explicit version [0] present, subject is the sixth field.
  return fields[fields[0].tagClass === asn1.Class.CONTEXT_SPECIFIC ? 5 : 4];
}

function name(attrs: [string, string][]): Asn1 {
  return seq(
    attrs.map(([k, v]) => {
      const oid = NAME_OIDS[k];
      if (!oid) throw new RangeError(`unknown name attribute ${k}`);
      return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [
        seq([oidValue(oid), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTF8, false, forge.util.encodeUtf8(v))]),
      ]);
    }),
  );
}

function time(d: Date): Asn1 {
  // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime after.
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return d.getUTCFullYear() < 2050
    ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, `${iso.slice(2)}Z`)
    : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, `${iso}Z`);
}

function ext(oid: string, critical: boolean, value: Asn1): Asn1 {
  const parts = [oidValue(oid)];
  if (critical) parts.push(bool(true));
  parts.push(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, asn1.toDer(value).getBytes()));
  return seq(parts);
}

function algorithmIdentifier(oid: string): Asn1 {
  return seq([oidValue(oid), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')]);
}

const seq = (v: Asn1[]): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, v);
const ctx = (tag: number, v: Asn1[]): Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, true, v);
const bool = (b: boolean): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BOOLEAN, false, b ? '\xff' : '\x00');
const oidValue = (oid: string): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes());
const octets = (b: Buffer): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bin(b));
const bitString = (b: Buffer, unused = 0): Asn1 =>
  asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, String.fromCharCode(unused) + bin(b));
const bin = (b: Buffer): string => b.toString('binary');
const fromDer = (b: Buffer): Asn1 => asn1.fromDer(forge.util.createBuffer(bin(b)));
const toDer = (a: Asn1): Buffer => Buffer.from(asn1.toDer(a).getBytes(), 'binary');

/** INTEGER from unsigned big-endian bytes (a leading zero keeps it positive). */
function int(b: Buffer): Asn1 {
  const v = b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, bin(v));
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
