/**
 * An swtpm as an enrolling client sees it, for tests that build enrollment
 * requests by hand: the TPM started, its vendor, its RSA EK certificate and
 * an RSA AK, with ActivateCredential at hand. Closed at the test's end.
 */
import type { Test } from 'tap';
import { openAttestationTpm, type AttestationTpm } from '../../client/attestation-tpm.js';
import type { KeyBlobs } from '../../client/tpm/commands/objects.js';
import type { EkCertificate } from '../../client/ek.js';
import type { Swtpm } from './swtpm.js';

export interface EnrollingTpm {
  tpm: AttestationTpm;
  tpmvendor: string;
  ek: EkCertificate;
  blobs: KeyBlobs;
}

export async function enrollingTpm(t: Test, swtpm: Swtpm): Promise<EnrollingTpm> {
  const tpm = await openAttestationTpm(swtpm.tcti);
  t.teardown(() => tpm.close());
  await tpm.startup();
  return { tpm, tpmvendor: await tpm.manufacturer(), ek: await tpm.ekCertificate('rsa'), blobs: (await tpm.ensureAk('rsa')).blobs };
}
