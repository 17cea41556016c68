import type { CommandModule } from 'yargs';
import { escapeUnprintable } from '../../shared/protocol/hostname.js';
import { enroll } from '../enroll.js';
import { defaultHostname } from '../identity.js';
import { withRetries } from '../retry.js';
import { acquireRunLock } from '../run-lock.js';
import { clientLogger, configOption, hostSettings, requireServer, retriesOption, run, serverAndTpmOptions, stateDirOption, wholeNumber, type HostArgs } from './common.js';

interface Args extends HostArgs {
  alg: string;
  ek?: string;
  timeout: number;
  retries: number;
}

export const enrollCommand: CommandModule<object, Args> = {
  command: 'enroll',
  describe: 'enroll this TPM\'s attestation key with the server (once per machine)',
  builder: (y) =>
    serverAndTpmOptions(y)
      .option('alg', { type: 'string', choices: ['rsa', 'ec', 'ecc'], default: 'rsa', describe: 'AK algorithm: RSA-2048 or ECC P-256' })
      .option('ek', { type: 'string', choices: ['rsa', 'ecc'], describe: 'EK to prove the AK with (default: the first EK certificate found)' })
      .option('hostname', { type: 'string', describe: 'name to enroll as (client.conf "hostname", default: this machine\'s FQDN)' })
      .option('state-dir', stateDirOption)
      .option('config', configOption)
      .option('timeout', { type: 'number', default: 60, describe: 'seconds to wait for the TPM and the server, per attempt' })
      .option('retries', retriesOption) as never,
  handler: (argv) =>
    run(async () => {
      const s = await hostSettings(argv);
      const server = requireServer(s);
      const retries = wholeNumber('retries', argv.retries);
      const lock = await acquireRunLock(s.stateDir);
      try {
        const logger = clientLogger();
        const { value: result } = await withRetries({ retries }, () =>
          enroll({
            server,
            tcti: s.tcti,
            alg: argv.alg === 'rsa' ? 'rsa' : 'ecc',
            ekAlg: argv.ek as 'rsa' | 'ecc' | undefined,
            hostname: s.hostname ?? defaultHostname(),
            stateDir: s.stateDir,
            timeoutMs: argv.timeout * 1000,
            logger,
          }),
        );
        console.log(`enrolled ${result.hostname} (EK ${result.ekTemplate}); AK certificate issued by ${escapeUnprintable(result.akCert.issuer.replace(/\n/g, ', '))}`);
      } finally {
        await lock.release();
      }
    }),
};
