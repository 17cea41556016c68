/** TPM2_ActivateCredential, TPM 2.0 Part 3 §12.5. */
import { BufferReader } from '../../../shared/tpm/buffer.js';
import { readDigest2b, unmarshalEncryptedSecret, unmarshalIdObject } from '../../../shared/tpm/tpm2b.js';
import { TPM_CC, type AuthCommand } from '../command.js';
import type { Tpm } from '../tpm.js';

/**
 * Recovers the credential protected to the EK (`keyHandle`) for the object
 * `activateHandle` (the AK). credentialBlob and secret are TPM2B_ID_OBJECT
 * and TPM2B_ENCRYPTED_SECRET with their size prefixes, as MakeCredential
 * produces them. activateAuth authorizes the ADMIN role of the AK, keyAuth
 * the USER role of the EK.
 */
export async function activateCredential(
  tpm: Tpm,
  activateHandle: number,
  keyHandle: number,
  activateAuth: AuthCommand,
  keyAuth: AuthCommand,
  credentialBlob: Buffer,
  secret: Buffer,
): Promise<Buffer> {
  // Checked here so a malformed blob is a MarshalError, not a TPM_RC_SIZE.
  unmarshalIdObject(credentialBlob);
  unmarshalEncryptedSecret(secret);
  return tpm.execute(
    {
      cc: TPM_CC.ActivateCredential,
      handles: [activateHandle, keyHandle],
      auth: [activateAuth, keyAuth],
      params: Buffer.concat([credentialBlob, secret]),
    },
    (res) => {
      const r = new BufferReader(res.params);
      const certInfo = readDigest2b(r, 'certInfo');
      r.done('TPM2_ActivateCredential response');
      return certInfo;
    },
  );
}
