import { AcsError, formatErrorCode } from '../../shared/protocol/errors.js';
import { ExchangeError } from '../exchange.js';
import { TpmError } from '../tpm/response-code.js';
import { TpmTransportError } from '../tpm/transport.js';

/** Options every TPM-using command shares. */
export const tpmOption = {
  type: 'string',
  default: process.env.ACS_TPM ?? 'device:/dev/tpmrm0',
  describe: 'TPM: device:/dev/tpmrm0, swtpm:HOST:PORT or mssim:HOST:PORT (env ACS_TPM)',
} as const;

export const stateDirOption = {
  type: 'string',
  describe: 'directory for the AK blobs and certificate (env ACS_DIR, default /var/lib/acs-client)',
} as const;

/** One line for the user saying what failed; the exit code says the rest. */
export function explain(err: unknown): string {
  if (err instanceof AcsError) return `server refused: ${formatErrorCode(err.code)} ${err.message}`;
  if (err instanceof ExchangeError) return `server unreachable or silent: ${err.message}`;
  if (err instanceof TpmTransportError) return `TPM unreachable: ${err.message}`;
  if (err instanceof TpmError) return `TPM error: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Runs a command body, printing a readable error and exiting non-zero when it fails. */
export async function run(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    console.error(`acs-client: ${explain(err)}`);
    process.exitCode = err instanceof AcsError ? 3 : 1;
  }
}
