#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { enrollCommand } from './commands/enroll.js';
import { attestCommand } from './commands/attest.js';
import { extendCommand } from './commands/extend.js';
import { eventlogCommand } from './commands/eventlog.js';

await yargs(hideBin(process.argv))
  .scriptName('acs-client')
  .usage('$0 <command> [options]\n\nTPM 2.0 attestation client, wire-compatible with IBM ACS.')
  .command(enrollCommand)
  .command(attestCommand)
  .command(extendCommand)
  .command(eventlogCommand)
  .demandCommand(1, 'name a command: enroll, attest, extend or eventlog')
  .strict()
  .help()
  .fail((msg, err) => {
    console.error(err?.message ? `acs-client: ${err.message}` : `acs-client: ${msg} (see acs-client --help)`);
    process.exit(2);
  })
  .parseAsync();
