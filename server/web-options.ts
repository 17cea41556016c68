/**
 * The web UI's command-line options, shared by `acs-server` (serve) and
 * `acs-server web`, and their translation into startWebServer options.
 */
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { AUTH_MODES, type AuthMode } from '../web/auth/web-auth.js';
import { checkWebAuthMode, type WebServerOptions } from '../web/server.js';

export function webOptions<T>(y: Argv<T>) {
  return y
    .option('web-port', { type: 'number', default: 8080, describe: 'port of the web UI and JSON API (0 disables)' })
    .option('web-host', { type: 'string', default: '127.0.0.1', describe: 'address the web UI listens on' })
    .option('stale-after', { type: 'number', default: 24, describe: 'hours without attestation before a machine counts as stale' })
    .option('web-auth', { choices: AUTH_MODES, default: 'required' as AuthMode, describe: 'login for the web UI and API; off only on a loopback --web-host' })
    .option('web-public-name', { type: 'string', array: true, default: [] as string[], describe: 'host name (optionally :port) the web UI answers to, besides its listen address and localhost (repeatable)' })
    .option('web-trusted-proxy', { type: 'string', array: true, default: [] as string[], describe: 'address of a single sign-on reverse proxy trusted to name the user (repeatable)' })
    .option('web-proxy-user-header', { type: 'string', describe: 'header in which the trusted proxy names the user, e.g. X-Forwarded-User' })
    .option('web-tls-cert', { type: 'string', describe: 'serve the web UI over HTTPS with this certificate chain (PEM)' })
    .option('web-tls-key', { type: 'string', describe: 'private key (PEM) of --web-tls-cert' });
}

interface WebArgs {
  'web-port': number;
  'web-host': string;
  'stale-after': number;
  'web-auth': AuthMode;
  'web-public-name': string[];
  'web-trusted-proxy': string[];
  'web-proxy-user-header'?: string;
  'web-tls-cert'?: string;
  'web-tls-key'?: string;
}

/** startWebServer options from the command line (without store and logger); throws with a one-line message on a setting that cannot work. */
export function webSettings(argv: WebArgs): Omit<WebServerOptions, 'store' | 'queries' | 'logger'> {
  checkWebAuthMode(argv['web-auth'], argv['web-host']);
  if (!Number.isInteger(argv['web-port']) || argv['web-port'] < 0 || argv['web-port'] > 65535) throw new RangeError(`--web-port ${argv['web-port']} is not a TCP port`);
  if (!(argv['stale-after'] > 0)) throw new RangeError(`--stale-after must be a positive number of hours`);
  const cert = argv['web-tls-cert'];
  const key = argv['web-tls-key'];
  if (!cert !== !key) throw new RangeError('--web-tls-cert and --web-tls-key go together');
  const read = (option: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`${option} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  return {
    port: argv['web-port'],
    host: argv['web-host'],
    staleAfterMs: argv['stale-after'] * 3600_000,
    tls: cert && key ? { cert: read('--web-tls-cert', cert), key: read('--web-tls-key', key) } : undefined,
    auth: {
      mode: argv['web-auth'],
      publicNames: argv['web-public-name'],
      trustedProxies: argv['web-trusted-proxy'],
      proxyUserHeader: argv['web-proxy-user-header'],
    },
  };
}
