/**
 * What the client's commands share: the host options (server, TPM,
 * hostname, state dir, config file), their resolution against the
 * environment and client.conf, and how a failure becomes one stderr line
 * and an exit code.
 */
import type { Argv } from 'yargs';
import { createLogger, type Logger } from '../../shared/log.js';
import { AcsError, formatErrorCode } from '../../shared/protocol/errors.js';
import { readFile } from 'node:fs/promises';
import { ExchangeError, ServerIdentityError, type ExchangeTls } from '../exchange.js';
import { isSoftwareTcti } from '../attestation-tpm.js';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config-file.js';
import { exitCodeFor, UsageError } from '../exit-codes.js';
import { AttemptsError } from '../retry.js';
import { parseServerAddress, type ServerEndpoint } from '../server-address.js';
import { DEFAULT_STATE_DIR } from '../state-dir.js';
import { TpmError } from '../tpm/response-code.js';
import { DEFAULT_TCTI, parseTcti, TpmTransportError } from '../tpm/transport.js';

/** A yargs option that takes a value; `describe` is its --help text. */
function stringOption(describe: string) {
  return { type: 'string', describe } as const;
}

/** A yargs on/off option. */
function flagOption(describe: string) {
  return { type: 'boolean', describe } as const;
}

export const configOption = stringOption(
  `settings file (env ACS_CONFIG, default ${DEFAULT_CONFIG_FILE}; keys: server, tpm, hostname, state-dir)`,
);

const serverOption = stringOption(
  'HOST[:PORT] of acs-server (port default 2323; client.conf "server")',
);

const tlsOption = flagOption(
  'speak TLS 1.3 to the server\'s --tls-port, checking its certificate and the name in --server',
);

const tlsCaOption = stringOption(
  'PEM file of the CA the server\'s certificate must chain to, the only one trusted (implies --tls; default: the public roots)',
);

export const tpmOption = stringOption(
  `TPM: device:/dev/tpmrm0, swtpm:HOST:PORT or mssim:HOST:PORT (env ACS_TPM, client.conf "tpm", default ${DEFAULT_TCTI})`,
);

/** What every command that speaks to the server with the TPM takes: the server, TLS to it, and the TPM. */
export function serverAndTpmOptions<T>(y: Argv<T>) {
  return y.option('server', serverOption).option('tls', tlsOption).option('tls-ca', tlsCaOption).option('tpm', tpmOption);
}

export const stateDirOption = stringOption(
  `directory for the AK blobs, certificate and last result (env ACS_DIR, client.conf "state-dir", default ${DEFAULT_STATE_DIR})`,
);

export const retriesOption = {
  type: 'number',
  default: 3,
  describe: 'retries of transient failures (unreachable, busy, server database trouble), exponential backoff with full jitter',
} as const;

/** A count option's value, or a usage error. */
export function wholeNumber(option: string, v: number): number {
  if (!Number.isInteger(v) || v < 0) throw new UsageError(`--${option} must be a whole number ≥ 0, not ${v}`);
  return v;
}

export const jsonOption = { type: 'boolean', default: false, describe: 'print the result as one JSON object on stdout' } as const;

export interface HostArgs {
  config?: string;
  server?: string;
  tpm?: string;
  hostname?: string;
  'state-dir'?: string;
  tls?: boolean;
  'tls-ca'?: string;
}

export interface HostSettings {
  configFile: string;
  /** As given, for messages; undefined when neither option nor file names one. */
  serverText?: string;
  tcti: string;
  /** TLS to the server, when asked for. */
  tls?: ExchangeTls;
  /** From the option or client.conf; commands supply their own default. */
  hostname?: string;
  stateDir: string;
}

/** Command line, then environment, then client.conf, then defaults. */
export async function hostSettings(argv: HostArgs, env: NodeJS.ProcessEnv = process.env): Promise<HostSettings> {
  const { file, config } = await loadConfig(argv.config ?? env.ACS_CONFIG);
  const tcti = argv.tpm ?? env.ACS_TPM ?? config.tpm ?? DEFAULT_TCTI;
  if (!isSoftwareTcti(tcti)) {
    try {
      parseTcti(tcti);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return {
    configFile: file,
    serverText: argv.server ?? config.server,
    tcti,
    hostname: argv.hostname ?? config.hostname,
    stateDir: argv['state-dir'] ?? env.ACS_DIR ?? config['state-dir'] ?? DEFAULT_STATE_DIR,
    tls: await tlsSettings(argv),
  };
}

async function tlsSettings(argv: HostArgs): Promise<ExchangeTls | undefined> {
  const caFile = argv['tls-ca'];
  if (caFile === undefined) return argv.tls ? {} : undefined;
  try {
    return { ca: await readFile(caFile) };
  } catch (e) {
    throw new UsageError(`--tls-ca ${caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The server to contact; a missing or malformed address is a usage error. */
export function requireServer(s: HostSettings): ServerEndpoint {
  if (!s.serverText) throw new UsageError(`no server: give --server HOST[:PORT] or set "server" in ${s.configFile}`);
  try {
    return { ...parseServerAddress(s.serverText), tls: s.tls };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Warnings only: a client run by cron speaks on stderr only when something is wrong. */
export function clientLogger(): Logger {
  // Plain JSON lines: the packaged executable cannot load pino-pretty's worker.
  return createLogger({ name: 'acs-client', level: 'warn', pretty: false });
}

/** One line for the user saying what failed; the exit code says the rest. */
export function explain(err: unknown): string {
  if (err instanceof AttemptsError) {
    const line = explain(err.last);
    return err.attempts > 1 ? `${line} (after ${err.attempts} attempts)` : line;
  }
  if (err instanceof AcsError) return `server refused: ${formatErrorCode(err.code)} ${err.message}`;
  if (err instanceof ServerIdentityError) return `server not trusted: ${err.message}`;
  if (err instanceof ExchangeError) return `server unreachable or silent: ${err.message}`;
  if (err instanceof TpmTransportError) return `TPM unreachable: ${err.message}`;
  if (err instanceof TpmError) return `TPM error: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** The error behind the retries' wrapper. */
export function rootError(err: unknown): unknown {
  return err instanceof AttemptsError ? err.last : err;
}

/** Runs a command body, printing one readable line and setting the exit code when it fails. */
export async function run(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    console.error(`acs-client: ${explain(err)}`);
    process.exitCode = exitCodeFor(rootError(err));
  }
}
