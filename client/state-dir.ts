import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyBlobs } from './tpm/commands/objects.js';
import type { KeyAlg } from './ak.js';
import { NotEnrolledError, UsageError } from './exit-codes.js';

/** Default client state directory; IBM ACS clients use ACS_DIR the same way (commands/common.ts). */
export const DEFAULT_STATE_DIR = '/var/lib/acs-client';

/** What enrollment leaves behind for attest: the AK blobs and its certificate. */
export interface Enrollment {
  hostname: string;
  alg: KeyAlg;
  blobs: KeyBlobs;
  akCertPem: string;
}

const files = (dir: string, alg: KeyAlg) => ({
  priv: join(dir, `ak-${alg}.priv`),
  pub: join(dir, `ak-${alg}.pub`),
  cert: join(dir, `akcert-${alg}.pem`),
  meta: join(dir, 'enrollment.json'),
});

async function writePrivate(path: string, data: string | Buffer): Promise<void> {
  await writeFile(path, data, { mode: 0o600 });
  await chmod(path, 0o600);
}

export async function saveAkBlobs(dir: string, alg: KeyAlg, blobs: KeyBlobs): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const f = files(dir, alg);
  await writePrivate(f.priv, blobs.privateBytes);
  await writePrivate(f.pub, blobs.publicBytes);
}

export async function loadAkBlobs(dir: string, alg: KeyAlg): Promise<KeyBlobs | undefined> {
  const f = files(dir, alg);
  try {
    return { privateBytes: await readFile(f.priv), publicBytes: await readFile(f.pub) };
  } catch {
    return undefined;
  }
}

export async function saveEnrollment(dir: string, e: Enrollment): Promise<void> {
  await saveAkBlobs(dir, e.alg, e.blobs);
  const f = files(dir, e.alg);
  await writePrivate(f.cert, e.akCertPem);
  await writePrivate(f.meta, JSON.stringify({ hostname: e.hostname, alg: e.alg }, null, 2));
}

/** The enrollment attest uses; fails with a clear message when the host never enrolled. */
export async function loadEnrollment(dir: string): Promise<Enrollment> {
  let meta: { hostname: string; alg: KeyAlg };
  try {
    meta = JSON.parse(await readFile(join(dir, 'enrollment.json'), 'utf8'));
  } catch (e) {
    // A directory this user may not read says nothing about enrollment.
    if ((e as NodeJS.ErrnoException).code === 'EACCES') throw new UsageError(`state directory ${dir}: EACCES (run as root)`, { cause: e });
    throw new NotEnrolledError(`not enrolled: no enrollment in ${dir}; run "acs-client enroll" first`);
  }
  const blobs = await loadAkBlobs(dir, meta.alg);
  if (!blobs) throw new NotEnrolledError(`not enrolled: AK blobs missing in ${dir}; run "acs-client enroll" again`);
  const akCertPem = await readFile(files(dir, meta.alg).cert, 'utf8');
  return { hostname: meta.hostname, alg: meta.alg, blobs, akCertPem };
}
