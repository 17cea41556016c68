/**
 * The "manufacturer" CA of software TPMs: it certifies their EKs so the
 * certificates chain exactly as a TPM vendor's would (TCG EK Credential
 * Profile §2.2), once its certificate is among the server's trust roots.
 * Its names say it is no TPM vendor, so the web UI shows as much wherever it
 * shows an EK certificate or its issuer.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildCertificate, randomSerial, selfSignedCa } from '../../shared/crypto/x509-builder.js';

/** The CN of every software TPM's EK certificate. */
export const SOFTWARE_EK_CN = 'Software TPM - demo only - not a TPM';
const ORGANIZATION = 'Software TPM (not a TPM manufacturer)';
/** File name of the CA certificate in the directory it is written to. */
export const SOFTWARE_EK_CA_FILE = 'software-tpm-ek-ca.pem';

const YEAR_MS = 365 * 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;

export class SoftwareEkCa {
  private constructor(
    private readonly key: KeyObject,
    readonly cert: X509Certificate,
    /** Directory holding the CA certificate: pass it to the server as a trust root. */
    readonly rootsDir: string,
  ) {}

  /** Path of the CA certificate (PEM). */
  get certFile(): string {
    return join(this.rootsDir, SOFTWARE_EK_CA_FILE);
  }

  /**
   * Creates the CA key (kept in memory only) and self-signed certificate,
   * and writes the certificate to `dir` as SOFTWARE_EK_CA_FILE.
   */
  static async create(dir: string): Promise<SoftwareEkCa> {
    const now = Date.now();
    const { key, cert } = selfSignedCa([['O', ORGANIZATION], ['CN', 'Software TPM EK CA']], new Date(now - HOUR_MS), new Date(now + 10 * YEAR_MS));
    const ca = new SoftwareEkCa(key, cert, dir);
    await mkdir(dir, { recursive: true });
    await writeFile(ca.certFile, ca.cert.toString());
    return ca;
  }

  /**
   * An EK certificate (DER) for `ekPublic`, as a manufacturer provisions it
   * in NV; `label` (e.g. the machine's name) tells the certificates apart.
   */
  issueEkCertificate(label: string, ekPublic: KeyObject): Buffer {
    const now = Date.now();
    return buildCertificate({
      serial: randomSerial(),
      issuerDer: this.cert.raw,
      // ub-organizational-unit-name is 64 characters (RFC 5280 Appendix A.1).
      subject: [['O', ORGANIZATION], ['OU', label.slice(0, 64)], ['CN', SOFTWARE_EK_CN]],
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
