/**
 * EK and AK certificates for display: describeCertificate's fields plus the
 * X.509 v3 extensions (RFC 5280 §4.2) with the ones TPM certificates carry
 * decoded — the EK's subjectAltName directoryName holding TPM manufacturer,
 * model and version, and its subjectDirectoryAttributes holding the TPM
 * specification (TCG EK Credential Profile §3.2.9, §3.2.10, OIDs per the
 * TCG OID registry 2.23.133).
 */
import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
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

const OID_NAMES: Record<string, string> = {
  '2.23.133.2.1': 'TPM manufacturer',
  '2.23.133.2.2': 'TPM model',
  '2.23.133.2.3': 'TPM version',
  '2.23.133.2.16': 'TPM specification',
  '2.23.133.8.1': 'EK certificate (tcg-kp-EKCertificate)',
  '2.23.133.8.3': 'AK certificate (tcg-kp-AIKCertificate)',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
};

type Asn1 = forge.asn1.Asn1;

function oidName(oid: string): string {
  return OID_NAMES[oid] ?? forge.pki.oids[oid] ?? oid;
}

function children(node: Asn1): Asn1[] {
  return Array.isArray(node.value) ? node.value : [];
}

function bytesHex(node: Asn1): string {
  return typeof node.value === 'string' ? forge.util.bytesToHex(node.value) : '';
}

function text(node: Asn1): string {
  return typeof node.value === 'string' ? forge.util.decodeUtf8(node.value) : '';
}

function oidOf(node: Asn1 | undefined): string {
  return node && typeof node.value === 'string' ? forge.asn1.derToOid(node.value) : '?';
}

/** RDNSequence → "TPM manufacturer=id:49424D00, TPM model=swtpm". */
function directoryName(seq: Asn1): string {
  return children(seq)
    .flatMap(children)
    .map((atv) => `${oidName(oidOf(children(atv)[0]))}=${text(children(atv)[1] ?? ({} as Asn1))}`)
    .join(', ');
}

/** GeneralNames, RFC 5280 §4.2.1.6: context tags 1 rfc822, 2 dNS, 4 directoryName, 6 URI, 7 IP. */
function generalNames(seq: Asn1): string {
  return children(seq)
    .map((gn) => {
      switch (gn.type) {
        case 1: return `email:${text(gn)}`;
        case 2: return `DNS:${text(gn)}`;
        case 4: return `dirName:${children(gn).map(directoryName).join('; ')}`;
        case 6: return `URI:${text(gn)}`;
        case 7: return `IP:${bytesHex(gn)}`;
        default: return `[${gn.type}]`;
      }
    })
    .join(', ');
}

/** subjectDirectoryAttributes with TPMSpecification ::= SEQUENCE { family UTF8String, level INTEGER, revision INTEGER }. */
function directoryAttributes(seq: Asn1): string {
  return children(seq)
    .map((attr) => {
      const [type, values] = children(attr);
      const oid = oidOf(type);
      const spec = values ? children(children(values)[0] ?? ({} as Asn1)) : [];
      if (oid === '2.23.133.2.16' && spec.length === 3) {
        const int = (n: Asn1) => parseInt(bytesHex(n) || '0', 16);
        return `${oidName(oid)}: family ${text(spec[0]!)} level ${int(spec[1]!)} revision ${int(spec[2]!)}`;
      }
      return oidName(oid);
    })
    .join(', ');
}

function extensionValue({ oid, value }: CertificateExtension): string {
  if (oid === OID_KEY_USAGE) return decodeKeyUsage(value).join(', ') || '(none)';
  const node = forge.asn1.fromDer(forge.util.createBuffer(value.toString('binary')));
  switch (oid) {
    case '2.5.29.17':
    case '2.5.29.18':
      return generalNames(node);
    case '2.5.29.19': {
      const [ca, path] = children(node);
      const isCa = ca?.type === forge.asn1.Type.BOOLEAN && ca.value === '\xff';
      return `CA: ${isCa}${path ? `, path length ${parseInt(bytesHex(path), 16)}` : ''}`;
    }
    case '2.5.29.37': return children(node).map((n) => oidName(oidOf(n))).join(', ');
    case '2.5.29.14': return bytesHex(node);
    case '2.5.29.35': return children(node).filter((n) => n.type === 0).map(bytesHex).join('') || '(no key identifier)';
    case '2.5.29.9': return directoryAttributes(node);
    case '2.5.29.32': return children(node).map((p) => oidName(oidOf(children(p)[0]))).join(', ');
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
