import type { CommandModule } from 'yargs';
import { extendLogs } from '../extend.js';
import { clientLogger, configOption, hostSettings, run, tpmOption, type HostArgs } from './common.js';

interface Args extends HostArgs {
  'bios-log'?: string;
  'ima-log'?: string;
  'ima-hash-alg': string;
  'ima-from': number;
  'ima-count'?: number;
}

export const extendCommand: CommandModule<object, Args> = {
  command: 'extend',
  describe: 'extend measurement logs into a software TPM\'s PCRs (for simulators and tests)',
  builder: (y) =>
    y
      .option('tpm', tpmOption)
      .option('config', configOption)
      .option('bios-log', { type: 'string', describe: 'firmware event log to extend' })
      .option('ima-log', { type: 'string', describe: 'binary IMA log to extend into PCR 10' })
      .option('ima-hash-alg', { type: 'string', choices: ['sha1', 'sha256', 'sha384', 'sha512'], default: 'sha1' })
      .option('ima-from', { type: 'number', default: 0, describe: 'first IMA event to extend' })
      .option('ima-count', { type: 'number', describe: 'how many IMA events to extend' })
      .check((a) => (a['bios-log'] || a['ima-log'] ? true : 'give --bios-log and/or --ima-log')) as never,
  handler: (argv) =>
    run(async () => {
      const r = await extendLogs({
        tcti: (await hostSettings(argv)).tcti,
        biosLog: argv['bios-log'],
        imaLog: argv['ima-log'],
        imaHashAlg: argv['ima-hash-alg'] as 'sha1',
        imaFrom: argv['ima-from'],
        imaCount: argv['ima-count'],
        logger: clientLogger(),
      });
      console.log(`extended ${r.firmwareEvents} firmware events and ${r.imaEvents} IMA events`);
    }),
};
