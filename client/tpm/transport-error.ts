/** The TPM could not be reached or did not answer: nothing TPM-specific went wrong. */
export class TpmTransportError extends Error {
  override name = 'TpmTransportError';

  constructor(
    message: string,
    /** The TCTI string the transport was opened with, e.g. "swtpm:127.0.0.1:2321". */
    readonly tcti: string,
    options?: ErrorOptions,
  ) {
    super(`${message} (TPM ${tcti})`, options);
  }
}
