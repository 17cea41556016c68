import { AcsError, formatErrorCode } from '../../shared/protocol/errors.js';
import { readFile } from 'node:fs/promises';
import { ExchangeError, ServerIdentityError, type ExchangeTls } from '../exchange.js';
import { parseServerAddress, type ServerEndpoint } from '../server-address.js';
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

/** How to reach acs-server: its address, and TLS (its --tls-port) with a pinned CA when asked. */
export const serverOptions = {
  server: { type: 'string', demandOption: true, describe: 'HOST[:PORT] of acs-server (port default 2323; with --tls, the server\'s --tls-port)' },
  tls: { type: 'boolean', default: false, describe: 'speak TLS 1.3 and check the server\'s certificate and name' },
  'tls-ca': { type: 'string', describe: 'PEM file of the CA the server\'s certificate must chain to, the only one trusted (implies --tls; default: the public roots)' },
} as const;

export interface ServerArgs {
  server: string;
  tls: boolean;
  'tls-ca'?: string;
}

export async function serverEndpoint(argv: ServerArgs): Promise<ServerEndpoint> {
  const address = parseServerAddress(argv.server);
  if (!argv.tls && argv['tls-ca'] === undefined) return address;
  return { ...address, tls: argv['tls-ca'] === undefined ? {} : { ca: await readFile(argv['tls-ca']) } satisfies ExchangeTls };
}

/** One line for the user saying what failed; the exit code says the rest. */
export function explain(err: unknown): string {
  if (err instanceof AcsError) return `server refused: ${formatErrorCode(err.code)} ${err.message}`;
  if (err instanceof ServerIdentityError) return `server not trusted: ${err.message}`;
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
