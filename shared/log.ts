/**
 * One logger factory for every process: JSON lines by default (what log
 * shippers read), human-readable when stderr is a terminal and pino-pretty is
 * installed. pino-pretty is a development dependency: a production install
 * (`npm ci --omit=dev`) has none, and logs JSON on a terminal too.
 */
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';

/** Whether pino-pretty resolves from here, as pino's transport would load it. */
export function prettyInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function createLogger(opts: { name: string; level?: string; pretty?: boolean }): Logger {
  const pretty = (opts.pretty ?? process.stderr.isTTY === true) && prettyInstalled();
  return pino({
    name: opts.name,
    // The request's hostname is logged per line; the machine's own name would clash with it.
    base: { pid: process.pid },
    level: opts.level ?? process.env.ACS_LOG_LEVEL ?? 'info',
    redact: { paths: ['password', '*.password', 'caKey', '*.caKey', 'privateKey', '*.privateKey'], censor: '[redacted]' },
    transport: pretty ? { target: 'pino-pretty', options: { destination: 2, colorize: true } } : undefined,
  // Asynchronous writes: a busy server must not block on stderr once per request (pino flushes at exit).
  }, pretty ? undefined : pino.destination({ dest: 2, sync: false }));
}

export type { Logger };
