#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { enrollCommand } from './commands/enroll.js';
import { attestCommand } from './commands/attest.js';
import { statusCommand } from './commands/status.js';
import { extendCommand } from './commands/extend.js';
import { eventlogCommand } from './commands/eventlog.js';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.js';
import { clientVersion } from './version.js';

// No top-level await: the packaged executable runs this file as CommonJS.
void yargs(hideBin(process.argv))
  .scriptName('acs-client')
  .usage('$0 <command> [options]\n\nTPM 2.0 attestation client, wire-compatible with IBM ACS.')
  .command(enrollCommand)
  .command(attestCommand)
  .command(statusCommand)
  .command(extendCommand)
  .command(eventlogCommand)
  .demandCommand(1, 'name a command: enroll, attest, status, extend or eventlog')
  .strict()
  .version(clientVersion())
  .help()
  .epilog(`Settings: /etc/acs-client/client.conf ("key = value": server, tpm, hostname, state-dir); options win over it.\n\n${EXIT_CODES_HELP}`)
  .wrap(Math.min(100, process.stdout.columns ?? 100))
  .fail((msg, err) => {
    console.error(err?.message ? `acs-client: ${err.message}` : `acs-client: ${msg} (see acs-client --help)`);
    process.exit(EXIT.USAGE);
  })
  .parseAsync();
