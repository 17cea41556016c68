#!/usr/bin/env node
/**
 * The acs-server command line: serve, web, init, migrate and the user,
 * token and policy commands, with flags built from server/config.ts.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { createLogger } from '../shared/log.js';
import { auditHostnames, describeHostnameReport } from '../db/hostname-audit.js';
import { openStore } from '../db/open.js';
import { PrivacyCa } from './privacy-ca.js';
import { startServer } from './app.js';
import { cliOptions, configFromArgv, type OptionGroup } from './config.js';
import { startWebServer } from '../web/server.js';
import { accountCommands } from './account-commands.js';
import { webServerOptions } from './web-options.js';
import { policyCommands } from './policy-cli.js';

/** Adds the flags of `groups` from the one option table (server/config.ts). */
function withOptions<T>(y: Argv<T>, groups: readonly OptionGroup[]): Argv<T> {
  return y.options(cliOptions(groups)) as unknown as Argv<T>;
}

const SERVE: OptionGroup[] = ['attest', 'web', 'store', 'ca'];
const WEB: OptionGroup[] = ['web', 'store'];

/** Runs `stop` once on SIGINT or SIGTERM, then exits. */
function stopOnSignal(stop: () => Promise<void>): void {
  const once = async () => {
    await stop();
    process.exit(0);
  };
  process.once('SIGINT', once);
  process.once('SIGTERM', once);
}

await yargs(hideBin(process.argv))
  .scriptName('acs-server')
  .usage('$0 [command] [options]\n\nTPM 2.0 attestation server, wire-compatible with IBM ACS.')
  .command(
    ['$0', 'serve'],
    'run the attestation server',
    (y) => withOptions(y, SERVE),
    async (argv) => {
      const config = configFromArgv(argv, SERVE);
      const webOptions = config.webPort === 0 ? undefined : webServerOptions(config);
      const logger = createLogger({ name: 'acs-server', level: config.verbose ? 'debug' : undefined });
      const server = await startServer({ config, logger });
      const web = webOptions && (await startWebServer({ ...webOptions, driver: server.driver, logger }));
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
    (y) => withOptions(y, ['ca']),
    async (argv) => {
      const { caDir } = configFromArgv(argv, ['ca']);
      const created = await PrivacyCa.init(caDir);
      console.log(created ? `privacy CA created in ${caDir}` : `privacy CA already present in ${caDir}`);
    },
  )
  .command(
    'web',
    'serve only the web UI and JSON API (reads the database)',
    (y) =>
      withOptions(y, WEB),
    async (argv) => {
      const config = configFromArgv(argv, WEB);
      const webOptions = webServerOptions(config);
      const logger = createLogger({ name: 'acs-web' });
      const store = await openStore(config.db, process.env);
      const web = await startWebServer({ ...webOptions, driver: store.driver, logger });
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
    (y) => withOptions(y, ['store']),
    async (argv) => {
      const store = await openStore(configFromArgv(argv, ['store']).db, process.env, { create: true });
      console.log(`schema up to date (${store.dialect})`);
      // Stored hostnames against the protocol's rule: the unambiguous renamed, the rest listed for the operator.
      const report = await auditHostnames(store.driver, true).finally(() => store.close());
      for (const line of describeHostnameReport(report)) console.log(line);
      if (report.collisions.length + report.invalid.length > 0) {
        console.log('some machines need a decision: see "Identities and client input" in the README');
        process.exitCode = 1;
      }
    },
  )
  .command(accountCommands)
  .demandCommand(0)
  .strict()
  .help()
  .fail((msg, err) => {
    console.error(err?.message ? `acs-server: ${err.message}` : `acs-server: ${msg} (see acs-server --help)`);
    process.exit(2);
  })
  .parseAsync();
