/**
 * The web UI's part of the configuration (server/config.ts) as
 * startWebServer options, shared by `acs-server` (serve) and `acs-server web`.
 */
import { readFileSync } from 'node:fs';
import type { WebServerOptions } from '../web/server.js';
import { ConfigError, type OptionName, type ServerConfig } from './config.js';

function readPem(option: OptionName, flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(option, `--${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function webServerOptions(config: ServerConfig): Omit<WebServerOptions, 'store' | 'queries' | 'logger'> {
  const { webTlsCert: cert, webTlsKey: key } = config;
  return {
    port: config.webPort,
    host: config.webHost,
    staleAfterMs: config.staleAfterMs,
    tls: cert && key ? { cert: readPem('webTlsCert', 'web-tls-cert', cert), key: readPem('webTlsKey', 'web-tls-key', key) } : undefined,
    auth: {
      mode: config.webAuth,
      publicNames: config.webPublicNames,
      trustedProxies: config.webTrustedProxies,
      proxyUserHeader: config.webProxyUserHeader,
    },
  };
}
