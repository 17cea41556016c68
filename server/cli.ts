#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { createLogger } from '../shared/log.js';
import { openStore } from '../db/open.js';
import { PrivacyCa } from './privacy-ca.js';
import { startServer } from './app.js';
import { startWebServer } from '../web/server.js';
import { policyCommands } from './policy-cli.js';

const DEFAULT_CA_DIR = './acs-data/ca';

function serverOptions<T>(y: Argv<T>) {
  return y
    .option('port', { type: 'number', default: Number(process.env.ACS_PORT ?? 2323), describe: 'TCP port for clients (env ACS_PORT)' })
    .option('host', { type: 'string', default: '0.0.0.0', describe: 'address to listen on' })
    .option('db', { type: 'string', describe: 'mysql://user:pass@host:port/db or sqlite:PATH (default: ACS_SQL_* variables, else sqlite:./acs.db)' })
    .option('roots', { type: 'string', array: true, default: [] as string[], describe: 'directory of extra trusted EK CA certificates (repeatable)' })
    .option('ca-dir', { type: 'string', default: DEFAULT_CA_DIR, describe: 'privacy CA directory (cakey.pem, cacert.pem)' })
    .option('allow-reenroll', { type: 'boolean', default: false, describe: 'let a hostname re-enroll with a different EK' })
    .option('nonce-ttl', { type: 'number', default: 300, describe: 'seconds a nonce stays valid' })
    .option('ima-keys', { type: 'string', array: true, default: [] as string[], describe: 'IMA signing key or certificate files (DER or PEM)' })
    .option('max-frame-bytes', { type: 'number', describe: 'largest request frame (default 16 MiB)' })
    .option('max-connections', { type: 'number', describe: 'connections served at once (default 64)' })
    .option('read-timeout', { type: 'number', describe: 'seconds to receive a whole request (default 60)' })
    .option('idle-timeout', { type: 'number', describe: 'seconds of silence before a connection is dropped (default 15)' })
    .option('max-events', { type: 'number', describe: 'most firmware events per quote (default 1024)' })
    .option('max-ima-events', { type: 'number', describe: 'most IMA events per quote (default 100000)' })
    .option('max-event-bytes', { type: 'number', describe: 'largest single event in bytes (default 1 MiB)' })
    .option('verbose', { type: 'boolean', default: false, describe: 'log every request and response frame' })
    .option('web-port', { type: 'number', default: 8080, describe: 'port of the web UI and JSON API (0 disables)' })
    .option('web-host', { type: 'string', default: '127.0.0.1', describe: 'address the web UI listens on' })
    .option('stale-after', { type: 'number', default: 24, describe: 'hours without attestation before a machine counts as stale' })
    .option('notify-webhook', { type: 'string', array: true, default: [] as string[], describe: 'POST each alert, signed, to this URL (repeatable)' })
    .option('notify-secret', { type: 'string', describe: 'file holding the HMAC-SHA256 key of the X-ACS-Signature header' })
    .option('notify-syslog', { type: 'string', describe: 'send alerts to syslog (RFC 5424): /dev/log without a value, or udp:HOST:PORT' })
    .option('notify-timeout', { type: 'number', default: 10, describe: 'seconds one alert delivery may take' })
    .option('public-url', { type: 'string', describe: 'web UI base URL alerts link reports under (default http://WEB_HOST:WEB_PORT)' });
}

/** Runs `stop` once on SIGINT or SIGTERM, then exits. */
function stopOnSignal(stop: () => Promise<void>): void {
  const once = async () => {
    await stop();
    process.exit(0);
  };
  process.once('SIGINT', once);
  process.once('SIGTERM', once);
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

await yargs(hideBin(process.argv))
  .scriptName('acs-server')
  .usage('$0 [command] [options]\n\nTPM 2.0 attestation server, wire-compatible with IBM ACS.')
  .command(
    ['$0', 'serve'],
    'run the attestation server',
    (y) => serverOptions(y),
    async (argv) => {
      const logger = createLogger({ name: 'acs-server', level: argv.verbose ? 'debug' : undefined });
      const server = await startServer({
        port: argv.port,
        host: argv.host,
        db: argv.db,
        roots: argv.roots,
        caDir: argv['ca-dir'],
        allowReenroll: argv['allow-reenroll'],
        nonceTtlMs: argv['nonce-ttl'] * 1000,
        imaKeyFiles: argv['ima-keys'],
        limits: defined({
          maxFrameBytes: argv['max-frame-bytes'],
          maxConnections: argv['max-connections'],
          readTimeoutMs: argv['read-timeout'] === undefined ? undefined : argv['read-timeout'] * 1000,
          idleTimeoutMs: argv['idle-timeout'] === undefined ? undefined : argv['idle-timeout'] * 1000,
        }),
        events: defined({ maxEvents: argv['max-events'], maxImaEvents: argv['max-ima-events'], maxEventBytes: argv['max-event-bytes'] }),
        verbose: argv.verbose,
        staleAfterMs: argv['stale-after'] * 3600_000,
        alerts: {
          webhooks: argv['notify-webhook'],
          secretFile: argv['notify-secret'],
          syslog: argv['notify-syslog'],
          reportBaseUrl: argv['public-url'] ?? `http://${argv['web-host'].includes(':') ? `[${argv['web-host']}]` : argv['web-host']}:${argv['web-port']}`,
          timing: { timeoutMs: argv['notify-timeout'] * 1000 },
        },
        logger,
      });
      const web =
        argv['web-port'] === 0
          ? undefined
          : await startWebServer({
              store: server.context.store,
              port: argv['web-port'],
              host: argv['web-host'],
              staleAfterMs: argv['stale-after'] * 3600_000,
              logger,
            });
      if (web) logger.info({ url: web.url }, 'web UI ready');
      stopOnSignal(async () => {
        logger.info('shutting down');
        await web?.close();
        await server.close();
      });
    },
  )
  .command(
    'init',
    'create the privacy CA key and certificate if absent',
    (y) => y.option('ca-dir', { type: 'string', default: DEFAULT_CA_DIR }),
    async (argv) => {
      const created = await PrivacyCa.init(argv['ca-dir']);
      console.log(created ? `privacy CA created in ${argv['ca-dir']}` : `privacy CA already present in ${argv['ca-dir']}`);
    },
  )
  .command(
    'web',
    'serve only the web UI and JSON API (reads the database)',
    (y) =>
      y
        .option('db', { type: 'string', describe: 'mysql://… or sqlite:PATH' })
        .option('web-port', { type: 'number', default: 8080 })
        .option('web-host', { type: 'string', default: '127.0.0.1' })
        .option('stale-after', { type: 'number', default: 24, describe: 'hours' }),
    async (argv) => {
      const logger = createLogger({ name: 'acs-web' });
      const store = await openStore(argv.db, process.env);
      const web = await startWebServer({ store, port: argv['web-port'], host: argv['web-host'], staleAfterMs: argv['stale-after'] * 3600_000, logger });
      logger.info({ url: web.url }, 'web UI ready');
      stopOnSignal(async () => {
        await web.close();
        await store.close();
      });
    },
  )
  .command('policy', 'manage reference-value policies (IMA runtime policies, measured-boot reference values)', (y) => policyCommands(y))
  .command(
    'migrate',
    'create or upgrade the database schema',
    (y) => y.option('db', { type: 'string', describe: 'mysql://… or sqlite:PATH' }),
    async (argv) => {
      const store = await openStore(argv.db, process.env, { create: true });
      console.log(`schema up to date (${store.dialect})`);
      await store.close();
    },
  )
  .demandCommand(0)
  .strict()
  .help()
  .fail((msg, err) => {
    console.error(err?.message ? `acs-server: ${err.message}` : `acs-server: ${msg} (see acs-server --help)`);
    process.exit(2);
  })
  .parseAsync();
