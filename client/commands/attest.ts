import type { CommandModule } from 'yargs';
import { createLogger } from '../../shared/log.js';
import { attest, DEFAULT_BIOS_LOG, DEFAULT_IMA_LOG } from '../attest.js';
import { bootTime, defaultUserid } from '../identity.js';
import { stateDir } from '../state-dir.js';
import { run, stateDirOption, tpmOption, serverEndpoint, serverOptions, type ServerArgs } from './common.js';

interface Args extends ServerArgs {
  tpm: string;
  'bios-log': string;
  'ima-log': string;
  'ima-hash-alg': string;
  hostname?: string;
  userid?: string;
  boottime?: string;
  'state-dir'?: string;
  timeout: number;
}

export const attestCommand: CommandModule<object, Args> = {
  command: 'attest',
  describe: 'attest this machine to the server (run from cron)',
  builder: (y) =>
    y
      .options(serverOptions)
      .option('tpm', tpmOption)
      .option('bios-log', { type: 'string', default: DEFAULT_BIOS_LOG, describe: 'firmware event log (binary)' })
      .option('ima-log', { type: 'string', default: DEFAULT_IMA_LOG, describe: 'IMA log (binary)' })
      .option('ima-hash-alg', { type: 'string', choices: ['sha1', 'sha256', 'sha384', 'sha512'], default: 'sha1', describe: 'template-hash algorithm of the IMA log file' })
      .option('hostname', { type: 'string', describe: 'name to attest as (default: the enrolled name)' })
      .option('userid', { type: 'string', describe: 'reported login (default: the current user)' })
      .option('boottime', { type: 'string', describe: 'boot time "YYYY-MM-DD HH:MM:SS" (default: from /proc/stat)' })
      .option('state-dir', stateDirOption)
      .option('timeout', { type: 'number', default: 120, describe: 'seconds to wait for the TPM and the server' }) as never,
  handler: (argv) =>
    run(async () => {
      const tty = process.stderr.isTTY;
      const r = await attest({
        server: await serverEndpoint(argv),
        tcti: argv.tpm,
        stateDir: stateDir(argv['state-dir']),
        hostname: argv.hostname,
        userid: argv.userid ?? defaultUserid(),
        bootTime: argv.boottime ?? bootTime(),
        biosLog: argv['bios-log'],
        imaLog: argv['ima-log'],
        imaHashAlg: argv['ima-hash-alg'] as 'sha1',
        timeoutMs: argv.timeout * 1000,
        progress: tty ? (n) => process.stderr.write(`\rIMA events encoded: ${n}`) : undefined,
        logger: createLogger({ name: 'acs-client', level: 'warn' }),
      });
      if (tty) process.stderr.write('\n');
      console.log(
        `attested ${r.hostname}: ${r.newBoot ? `new boot, ${r.firmwareEvents} firmware events, ` : ''}` +
          `${r.imaEvents} IMA events from ${r.imaEntry}${r.retried ? ' (retried with full logs after a TPM reset)' : ''}`,
      );
    }),
};
