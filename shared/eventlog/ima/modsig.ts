/**
 * Appended signatures ("modsig": kernel modules, kexec images) as the
 * ima-modsig template records them: a detached PKCS#7 SignedData (RFC 5652
 * §5) over the file without its signature, whose digest is the d-modsig
 * field. The signer is named by issuer and serial number or by subject key
 * identifier (RFC 5652 §5.3); with signed attributes, the signature covers
 * them and their messageDigest must equal the file digest (§5.4).
 */
import { hash, type KeyObject, type X509Certificate } from 'node:crypto';
import { derChildren, readDer, type DerNode } from '../../crypto/der.js';
import { digestAlgForOid, verifyDigestSignature } from '../../crypto/digest-signature.js';
import type { ImaSignatureStatus } from './signature.js';
import type { ImaDigest } from './template.js';

/** What names a key: a certificate's issuer and serial, and its subject key identifiers. */
export interface SignerIdentity {
  issuer?: Buffer;
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

const OID_SIGNED_DATA = '2a864886f70d010702';
const OID_MESSAGE_DIGEST = '2a864886f70d010904';

/** The contents of a DER element. */
const bytes = (b: Buffer, n: DerNode) => b.subarray(n.start, n.end);
/** A whole DER element, header included. */
const element = (b: Buffer, n: DerNode) => b.subarray(n.offset, n.end);

function expect(cond: unknown, what: string): asserts cond {
  if (!cond) throw new RangeError(`malformed PKCS#7: ${what}`);
}

/** The first SignerInfo of a ContentInfo carrying SignedData. Throws RangeError when malformed. */
export function parseModsig(der: Buffer): ModsigSigner {
  const ci = derChildren(der, readDer(der, 0));
  expect(ci.length === 2 && ci[0].tag === 0x06 && bytes(der, ci[0]).toString('hex') === OID_SIGNED_DATA, 'not SignedData');
  const sd = derChildren(der, derChildren(der, ci[1])[0]);
  const signerInfos = sd[sd.length - 1];
  expect(signerInfos?.tag === 0x31, 'no signerInfos');
  const first = derChildren(der, signerInfos)[0];
  expect(first, 'no SignerInfo');
  const si = derChildren(der, first);
  expect(si.length >= 5, 'short SignerInfo');
  const [, sidNode, digestAlgNode] = si;
  const sid: SignerIdentity = { subjectKeyIds: [] };
  if (sidNode.tag === 0x80) sid.subjectKeyIds.push(bytes(der, sidNode));
  else {
    const [issuer, serial] = derChildren(der, sidNode);
    expect(issuer && serial?.tag === 0x02, 'bad issuerAndSerialNumber');
    sid.issuer = element(der, issuer);
    sid.serial = bytes(der, serial);
  }
  const digestAlg = digestAlgForOid(bytes(der, derChildren(der, digestAlgNode)[0]).toString('hex'));
  let signedAttrs: Buffer | null = null;
  let messageDigest: Buffer | null = null;
  let next = 3;
  if (si[3].tag === 0xa0) {
    // The signature covers the attributes DER-encoded as SET OF, not with the [0] tag (RFC 5652 §5.4).
    const raw = Buffer.from(element(der, si[3]));
    raw[0] = 0x31;
    signedAttrs = raw;
    for (const attr of derChildren(der, si[3])) {
      const [type, values] = derChildren(der, attr);
      if (bytes(der, type).toString('hex') === OID_MESSAGE_DIGEST) messageDigest = bytes(der, derChildren(der, values)[0]);
    }
    next = 4;
  }
  const signature = si[next + 1];
  expect(signature?.tag === 0x04, 'no signature');
  return { sid, digestAlg, signedAttrs, messageDigest, signature: bytes(der, signature) };
}

/** Issuer, serial and subject key identifier of a certificate (RFC 5280 §4.1, §4.2.1.2). */
export function certificateIdentity(cert: X509Certificate): SignerIdentity {
  const der = cert.raw;
  const tbs = derChildren(der, derChildren(der, readDer(der, 0))[0]);
  const i = tbs[0].tag === 0xa0 ? 1 : 0;
  const id: SignerIdentity = {
    serial: bytes(der, tbs[i]),
    issuer: element(der, tbs[i + 2]),
    subjectKeyIds: [],
  };
  const exts = tbs.find((n) => n.tag === 0xa3);
  for (const ext of exts ? derChildren(der, derChildren(der, exts)[0]) : []) {
    const parts = derChildren(der, ext);
    if (bytes(der, parts[0]).toString('hex') !== '551d0e') continue;
    const inner = readDer(der, parts[parts.length - 1].start);
    id.subjectKeyIds.push(bytes(der, inner));
  }
  return id;
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
