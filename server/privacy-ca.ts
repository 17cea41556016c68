/**
 * The privacy CA's key and certificate on disk, and the AK certificates it
 * issues after credential activation.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isNormalHostname } from '../shared/protocol/hostname.js';
import { buildCertificate, randomSerial, selfSignedCa, type Extension } from '../shared/crypto/x509-builder.js';

/** The privacy CA key or certificate is missing, unreadable or exposed. */
export class PrivacyCaError extends Error {
  override name = 'PrivacyCaError';
}

export const CA_KEY_FILE = 'cakey.pem';
export const CA_CERT_FILE = 'cacert.pem';
const YEAR_MS = 365 * 24 * 3600 * 1000;

/**
 * The privacy CA: issues an X.509 certificate for each AK whose residence in
 * the same TPM as a trusted EK was proven by credential activation
 * (TPM 2.0 Part 1 §24, TCG "Privacy CA" model). Its key never leaves caDir.
 */
export class PrivacyCa {
  private constructor(
    private readonly key: KeyObject,
    readonly cert: X509Certificate,
  ) {}

  get certPem(): string {
    return this.cert.toString();
  }

  /** Creates the CA key (0600) and self-signed certificate unless both exist. Returns true if created. */
  static async init(caDir: string, subjectCn = 'ACS Privacy CA'): Promise<boolean> {
    await mkdir(caDir, { recursive: true, mode: 0o700 });
    const keyPath = join(caDir, CA_KEY_FILE);
    if (await exists(keyPath)) return false;
    const now = new Date();
    const { key, cert } = selfSignedCa([['CN', subjectCn]], now, new Date(now.getTime() + 20 * YEAR_MS));
    await writeFile(keyPath, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await chmod(keyPath, 0o600);
    await writeFile(join(caDir, CA_CERT_FILE), cert.toString(), { mode: 0o644 });
    return true;
  }

  /** Loads the CA, refusing a key file that group or others can read. */
  static async load(caDir: string): Promise<PrivacyCa> {
    const keyPath = join(caDir, CA_KEY_FILE);
    let mode: number;
    try {
      mode = (await stat(keyPath)).mode;
    } catch {
      throw new PrivacyCaError(`privacy CA key ${keyPath} not found: run "acs-server init --ca-dir ${caDir}"`);
    }
    if ((mode & 0o077) !== 0) {
      throw new PrivacyCaError(`privacy CA key ${keyPath} is accessible by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
    }
    const key = createPrivateKey(await readFile(keyPath));
    const cert = new X509Certificate(await readFile(join(caDir, CA_CERT_FILE)));
    if (!cert.checkPrivateKey(key)) throw new PrivacyCaError('privacy CA certificate does not match its key');
    return new PrivacyCa(key, cert);
  }

  /**
   * Issues the AK certificate: subject CN = hostname (a DNS host name in
   * normal form, shared/protocol/hostname.ts), key usage
   * digitalSignature only (a restricted signing key signs TPM-generated data
   * only, TPM 2.0 Part 1 §25.2), not a CA.
   */
  issueAkCertificate(hostname: string, akPublicKey: KeyObject, validityYears = 20): X509Certificate {
    // The protocol edge admits normal DNS names only; the CA checks again so no other text reaches a CN.
    if (!isNormalHostname(hostname)) throw new PrivacyCaError('refusing to certify a name that is not a DNS host name in normal form');
    const now = new Date();
    const extensions: Extension[] = [
      { name: 'basicConstraints', critical: true, cA: false },
      { name: 'keyUsage', critical: true, digitalSignature: true },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', issuer: this.cert },
    ];
    const der = buildCertificate({
      serial: randomSerial(),
      issuerDer: this.cert.raw,
      subject: [['CN', hostname]],
      notBefore: now,
      notAfter: new Date(now.getTime() + validityYears * YEAR_MS),
      publicKey: akPublicKey,
      extensions,
      signingKey: this.key,
    });
    return new X509Certificate(der);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
