/**
 * Appended signatures ("modsig": kernel modules, kexec images) as the
 * ima-modsig template records them: a detached PKCS#7 SignedData (RFC 5652
 * §5) over the file without its signature, whose digest is the d-modsig
 * field. The signer is named by issuer and serial number or by subject key
 * identifier (RFC 5652 §5.3); with signed attributes, the signature covers
 * them and their messageDigest must equal the file digest (§5.4).
 * The structures are decoded by @peculiar/asn1-cms and @peculiar/asn1-x509:
 * about 0.25 ms per signature on a loaded 2-core machine, against a few µs
 * for a hand-written walk, paid once per (file digest, signature) because
 * ImaKeyring caches verdicts, so a kernel's few hundred modules cost it once.
 */
import { ContentInfo, SignedData, id_signedData, id_messageDigest } from '@peculiar/asn1-cms';
import { AsnConvert, AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import * as asn1js from 'asn1js';
import { Certificate, SubjectKeyIdentifier, id_ce_subjectKeyIdentifier } from '@peculiar/asn1-x509';
import { hash, type KeyObject, type X509Certificate } from 'node:crypto';
import { digestAlgForOid, verifyDigestSignature } from '../../crypto/digest-signature.js';
import type { ImaSignatureStatus } from './signature.js';
import type { ImaDigest } from './template.js';

/** What names a key: a certificate's issuer and serial, and its subject key identifiers. */
export interface SignerIdentity {
  /** The DER of the issuer Name. */
  issuer?: Buffer;
  /** The serial number INTEGER's contents. */
  serial?: Buffer;
  subjectKeyIds: Buffer[];
}

export interface ModsigSigner {
  sid: SignerIdentity;
  digestAlg: string | null;
  /** The signed attributes re-tagged as SET OF (what the signature covers), or null. */
  signedAttrs: Buffer | null;
  messageDigest: Buffer | null;
  signature: Buffer;
}

/** An appended signature that is not a ContentInfo carrying SignedData with a SignerInfo. */
export class ModsigFormatError extends RangeError {
  override name = 'ModsigFormatError';
}

function decode<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new ModsigFormatError(`malformed PKCS#7 ${what}: ${(e as Error).message}`);
  }
}

/** The first SignerInfo of a ContentInfo carrying SignedData (RFC 5652 §3, §5.1, §5.3). */
export function parseModsig(der: Buffer): ModsigSigner {
  const ci = decode('ContentInfo', () => AsnConvert.parse(der, ContentInfo));
  if (ci.contentType !== id_signedData) throw new ModsigFormatError(`malformed PKCS#7: content type ${ci.contentType} is not SignedData`);
  const sd = decode('SignedData', () => AsnConvert.parse(ci.content, SignedData));
  const si = sd.signerInfos[0];
  if (!si) throw new ModsigFormatError('malformed PKCS#7: no SignerInfo');
  const sid: SignerIdentity = { subjectKeyIds: [] };
  if (si.sid.subjectKeyIdentifier) sid.subjectKeyIds.push(Buffer.from(si.sid.subjectKeyIdentifier.buffer));
  else if (si.sid.issuerAndSerialNumber) {
    sid.issuer = Buffer.from(AsnConvert.serialize(si.sid.issuerAndSerialNumber.issuer));
    sid.serial = Buffer.from(si.sid.issuerAndSerialNumber.serialNumber);
  }
  let signedAttrs: Buffer | null = null;
  let messageDigest: Buffer | null = null;
  if (si.signedAttrs) {
    // The signature covers the DER encoding of the attributes as a SET OF, not with the [0] IMPLICIT tag
    // (RFC 5652 §5.4). Each attribute value is kept as received; the SET is encoded in the order received.
    signedAttrs = Buffer.from(new asn1js.Set({ value: si.signedAttrs.map((a) => AsnSerializer.toASN(a)) }).toBER());
    const attr = si.signedAttrs.find((a) => a.attrType === id_messageDigest);
    const value = attr?.attrValues[0];
    if (value) messageDigest = Buffer.from(decode('messageDigest', () => AsnConvert.parse(value, OctetString)).buffer);
  }
  return {
    sid,
    digestAlg: digestAlgForOid(si.digestAlgorithm.algorithm),
    signedAttrs,
    messageDigest,
    signature: Buffer.from(si.signature.buffer),
  };
}

/** Issuer, serial and subject key identifier of a certificate (RFC 5280 §4.1.2.2, §4.1.2.4, §4.2.1.2). */
export function certificateIdentity(cert: X509Certificate): SignerIdentity {
  const tbs = AsnConvert.parse(cert.raw, Certificate).tbsCertificate;
  return {
    serial: Buffer.from(tbs.serialNumber),
    issuer: Buffer.from(AsnConvert.serialize(tbs.issuer)),
    subjectKeyIds: (tbs.extensions ?? [])
      .filter((e) => e.extnID === id_ce_subjectKeyIdentifier)
      .map((e) => Buffer.from(AsnConvert.parse(e.extnValue, SubjectKeyIdentifier).buffer)),
  };
}

export interface IdentifiedKey {
  key: KeyObject;
  identity: SignerIdentity;
}

function names(sid: SignerIdentity, id: SignerIdentity): boolean {
  if (sid.issuer && sid.serial) return Boolean(id.issuer?.equals(sid.issuer) && id.serial?.equals(sid.serial));
  return sid.subjectKeyIds.some((s) => id.subjectKeyIds.some((k) => k.equals(s)));
}

export function verifyModsig(der: Buffer, fileDigest: ImaDigest, keys: readonly IdentifiedKey[]): ImaSignatureStatus {
  let signer: ModsigSigner;
  try {
    signer = parseModsig(der);
  } catch {
    return 'badsig';
  }
  const candidates = keys.filter((k) => names(signer.sid, k.identity));
  if (candidates.length === 0) return 'nokey';
  const alg = signer.digestAlg;
  if (!alg || alg !== fileDigest.alg) return 'badsig';
  let signed = fileDigest.digest;
  if (signer.signedAttrs) {
    if (!signer.messageDigest?.equals(fileDigest.digest)) return 'badsig';
    signed = hash(alg, signer.signedAttrs, 'buffer');
  }
  return candidates.some((k) => verifyDigestSignature(k.key, alg, signed, signer.signature)) ? 'ok' : 'badsig';
}
