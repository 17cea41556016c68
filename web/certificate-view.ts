/**
 * EK and AK certificates for display: describeCertificate's fields plus the
 * X.509 v3 extensions (RFC 5280 §4.2) with the ones TPM certificates carry
 * decoded — the EK's subjectAltName directoryName holding TPM manufacturer,
 * model and version, and its subjectDirectoryAttributes holding the TPM
 * specification (TCG EK Credential Profile §3.2.9, §3.2.10, OIDs per the
 * TCG OID registry 2.23.133), decoded by @peculiar/asn1-x509.
 */
import { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, ExtendedKeyUsage, IssueAlternativeName, SubjectAlternativeName,
  SubjectDirectoryAttributes, SubjectKeyIdentifier, id_ce_authorityKeyIdentifier, id_ce_basicConstraints, id_ce_certificatePolicies,
  id_ce_extKeyUsage, id_ce_issuerAltName, id_ce_subjectAltName, id_ce_subjectDirectoryAttributes, id_ce_subjectKeyIdentifier,
  type GeneralName, type Name,
} from '@peculiar/asn1-x509';
import { Integer, Sequence, Utf8String, fromBER } from 'asn1js';
import {
  certificateStructure, decodeKeyUsage, describeCertificate, OID_KEY_USAGE, type CertificateExtension, type CertificateInfo,
} from '../shared/crypto/certificate-info.js';

export interface ExtensionView {
  oid: string;
  name: string;
  critical: boolean;
  /** Decoded value, or its length when the extension is not one we decode. */
  value: string;
}

export interface CertificateView extends CertificateInfo {
  signatureAlgorithm: string;
  extensions: ExtensionView[];
  pem: string;
}

export type CertificateResult = { ok: true; cert: CertificateView } | { ok: false; error: string; pem: string };

/** Names for display: RFC 5280 extension and attribute names, RFC 8017/5758 signature algorithms, the TCG OID registry. */
const OID_NAMES: Record<string, string> = {
  '2.23.133.2.1': 'TPM manufacturer',
  '2.23.133.2.2': 'TPM model',
  '2.23.133.2.3': 'TPM version',
  '2.23.133.2.16': 'TPM specification',
  '2.23.133.8.1': 'EK certificate (tcg-kp-EKCertificate)',
  '2.23.133.8.3': 'AK certificate (tcg-kp-AIKCertificate)',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.29.9': 'subjectDirectoryAttributes',
  '2.5.29.14': 'subjectKeyIdentifier',
  '2.5.29.15': 'keyUsage',
  '2.5.29.17': 'subjectAltName',
  '2.5.29.18': 'issuerAltName',
  '2.5.29.19': 'basicConstraints',
  '2.5.29.31': 'cRLDistributionPoints',
  '2.5.29.32': 'certificatePolicies',
  '2.5.29.35': 'authorityKeyIdentifier',
  '2.5.29.37': 'extKeyUsage',
  '1.3.6.1.5.5.7.1.1': 'authorityInfoAccess',
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
};

const OID_TPM_SPECIFICATION = '2.23.133.2.16';

function oidName(oid: string): string {
  return OID_NAMES[oid] ?? oid;
}

const hex = (b: ArrayBuffer | ArrayBufferView): string =>
  (ArrayBuffer.isView(b) ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : Buffer.from(b)).toString('hex');

/** RDNSequence → "TPM manufacturer=id:49424D00, TPM model=swtpm". */
function directoryName(name: Name): string {
  return name
    .flatMap((rdn) => [...rdn])
    .map((atv) => `${oidName(atv.type)}=${atv.value.toString()}`)
    .join(', ');
}

/** GeneralNames, RFC 5280 §4.2.1.6. */
function generalNames(names: GeneralName[]): string {
  return names
    .map((gn) => {
      if (gn.rfc822Name !== undefined) return `email:${gn.rfc822Name}`;
      if (gn.dNSName !== undefined) return `DNS:${gn.dNSName}`;
      if (gn.directoryName) return `dirName:${directoryName(gn.directoryName)}`;
      if (gn.uniformResourceIdentifier !== undefined) return `URI:${gn.uniformResourceIdentifier}`;
      if (gn.iPAddress !== undefined) return `IP:${gn.iPAddress}`;
      if (gn.registeredID !== undefined) return `RID:${oidName(gn.registeredID)}`;
      if (gn.otherName) return `otherName:${oidName(gn.otherName.typeId)}`;
      return '[other name]';
    })
    .join(', ');
}

/**
 * subjectDirectoryAttributes with TPMSpecification ::= SEQUENCE { family
 * UTF8String, level INTEGER, revision INTEGER } (TCG EK Credential Profile §3.2.10).
 */
function directoryAttributes(attrs: SubjectDirectoryAttributes): string {
  return attrs
    .map((attr) => {
      const value = attr.values[0];
      if (attr.type === OID_TPM_SPECIFICATION && value) {
        const { result } = fromBER(value);
        const [family, level, revision] = result instanceof Sequence ? result.valueBlock.value : [];
        if (family instanceof Utf8String && level instanceof Integer && revision instanceof Integer) {
          return `${oidName(attr.type)}: family ${family.getValue()} level ${level.toBigInt()} revision ${revision.toBigInt()}`;
        }
      }
      return oidName(attr.type);
    })
    .join(', ');
}

function extensionValue({ oid, value }: CertificateExtension): string {
  if (oid === OID_KEY_USAGE) return decodeKeyUsage(value).join(', ') || '(none)';
  switch (oid) {
    case id_ce_subjectAltName:
      return generalNames(AsnConvert.parse(value, SubjectAlternativeName));
    case id_ce_issuerAltName:
      return generalNames(AsnConvert.parse(value, IssueAlternativeName));
    case id_ce_basicConstraints: {
      const bc = AsnConvert.parse(value, BasicConstraints);
      return `CA: ${bc.cA}${bc.pathLenConstraint !== undefined ? `, path length ${bc.pathLenConstraint}` : ''}`;
    }
    case id_ce_extKeyUsage: return AsnConvert.parse(value, ExtendedKeyUsage).map(oidName).join(', ');
    case id_ce_subjectKeyIdentifier: return hex(AsnConvert.parse(value, SubjectKeyIdentifier).buffer);
    case id_ce_authorityKeyIdentifier: {
      const keyId = AsnConvert.parse(value, AuthorityKeyIdentifier).keyIdentifier;
      return keyId ? hex(keyId.buffer) : '(no key identifier)';
    }
    case id_ce_subjectDirectoryAttributes: return directoryAttributes(AsnConvert.parse(value, SubjectDirectoryAttributes));
    case id_ce_certificatePolicies: return AsnConvert.parse(value, CertificatePolicies).map((p) => oidName(p.policyIdentifier)).join(', ');
    default: return `${value.length} bytes`;
  }
}

/** The signature algorithm and every extension of a certificate, named and decoded for display. */
function extensions(der: Buffer): { signatureAlgorithm: string; extensions: ExtensionView[] } {
  const structure = certificateStructure(der);
  return {
    signatureAlgorithm: oidName(structure.signatureAlgorithm),
    extensions: structure.extensions.map((ext) => {
      let value: string;
      try {
        value = extensionValue(ext);
      } catch {
        value = 'undecodable';
      }
      return { oid: ext.oid, name: oidName(ext.oid), critical: ext.critical, value };
    }),
  };
}

/** Decodes a stored PEM certificate; a PEM that does not parse is reported, not thrown. */
export function viewCertificate(pem: string): CertificateResult {
  try {
    const cert = new X509Certificate(pem);
    return { ok: true, cert: { ...describeCertificate(cert), ...extensions(cert.raw), pem: cert.toString() } };
  } catch (e) {
    return { ok: false, error: `certificate does not parse: ${(e as Error).message}`, pem };
  }
}
