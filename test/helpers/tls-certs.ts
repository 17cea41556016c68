/**
 * Throw-away TLS PKI for tests, made by the openssl CLI: a CA, and server
 * certificates it issues for given DNS names and IP addresses (RFC 5280
 * §4.2.1.6 subjectAltName; the name a TLS client checks, RFC 6125).
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const openssl = (...args: string[]) => promisify(execFile)('openssl', args);
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export interface TestCa {
  name: string;
  certFile: string;
  keyFile: string;
  pem: string;
}

export interface TestServerCert {
  certFile: string;
  keyFile: string;
}

export async function makeTestCa(dir: string, name: string): Promise<TestCa> {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  await openssl('req', '-x509', ...EC_KEY, '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  return { name, certFile, keyFile, pem: await readFile(certFile, 'utf8') };
}

/** A server certificate from `ca` naming `dns` and `ip` in its subjectAltName. */
export async function issueServerCert(dir: string, ca: TestCa, label: string, names: { dns: string[]; ip: string[] }): Promise<TestServerCert> {
  const keyFile = join(dir, `${label}.key`);
  const csr = join(dir, `${label}.csr`);
  const certFile = join(dir, `${label}.pem`);
  const ext = join(dir, `${label}.ext`);
  const san = [...names.dns.map((n) => `DNS:${n}`), ...names.ip.map((n) => `IP:${n}`)].join(',');
  await writeFile(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`);
  await openssl('req', '-new', ...EC_KEY, '-keyout', keyFile, '-out', csr, '-subj', `/CN=${names.dns[0] ?? label}`);
  await openssl('x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', String(Date.now()), '-days', '2', '-out', certFile, '-extfile', ext);
  return { certFile, keyFile };
}
