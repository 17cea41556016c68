/**
 * A throwaway EK manufacturer CA for the benchmark fleet. Its certificate is
 * written to a directory the server is given as an extra trust root
 * (`roots: [dir]`), so the fleet's EK certificates chain exactly as a TPM
 * vendor's would (TCG EK Credential Profile §2.2).
 */
import { X509Certificate, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildCertificate } from '../../server/x509-builder.js';

const YEAR_MS = 365 * 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;

function serial(): Buffer {
  const s = randomBytes(12);
  s[0] = (s[0] & 0x7f) | 0x01;
  return s;
}

export class BenchEkCa {
  private constructor(
    private readonly key: KeyObject,
    readonly cert: X509Certificate,
    /** Directory holding the CA certificate: pass it to the server as a trust root. */
    readonly rootsDir: string,
  ) {}

  /** Creates the CA key and self-signed certificate, and writes the certificate to `dir`. */
  static async create(dir: string): Promise<BenchEkCa> {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const now = Date.now();
    const subject: [string, string][] = [['O', 'ACS benchmark'], ['CN', 'Bench EK CA']];
    const der = buildCertificate({
      serial: serial(),
      issuer: subject,
      subject,
      notBefore: new Date(now - HOUR_MS),
      notAfter: new Date(now + 10 * YEAR_MS),
      publicKey,
      extensions: [
        { name: 'basicConstraints', critical: true, cA: true },
        { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
        { name: 'subjectKeyIdentifier' },
      ],
      signingKey: privateKey,
    });
    const cert = new X509Certificate(der);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'bench-ek-ca.pem'), cert.toString());
    return new BenchEkCa(privateKey, cert, dir);
  }

  /** An EK certificate (DER) for `ekPublic`, as a TPM manufacturer provisions it in NV. */
  issueEkCertificate(label: string, ekPublic: KeyObject): Buffer {
    const now = Date.now();
    return buildCertificate({
      serial: serial(),
      issuerDer: this.cert.raw,
      subject: [['O', 'ACS benchmark'], ['CN', `EK ${label}`]],
      notBefore: new Date(now - HOUR_MS),
      notAfter: new Date(now + 10 * YEAR_MS),
      publicKey: ekPublic,
      extensions: [
        { name: 'basicConstraints', critical: true, cA: false },
        { name: 'authorityKeyIdentifier', issuer: this.cert },
      ],
      signingKey: this.key,
    });
  }
}
