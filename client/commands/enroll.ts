import type { CommandModule } from 'yargs';
import { createLogger } from '../../shared/log.js';
import { escapeUnprintable } from '../../shared/protocol/hostname.js';
import { enroll } from '../enroll.js';
import { defaultHostname } from '../identity.js';
import { stateDir } from '../state-dir.js';
import { run, stateDirOption, tpmOption, serverEndpoint, serverOptions, type ServerArgs } from './common.js';

interface Args extends ServerArgs {
  tpm: string;
  alg: string;
  ek?: string;
  hostname?: string;
  'state-dir'?: string;
  timeout: number;
}

export const enrollCommand: CommandModule<object, Args> = {
  command: 'enroll',
  describe: 'enroll this TPM\'s attestation key with the server (once per machine)',
  builder: (y) =>
    y
      .options(serverOptions)
      .option('tpm', tpmOption)
      .option('alg', { type: 'string', choices: ['rsa', 'ec', 'ecc'], default: 'rsa', describe: 'AK algorithm: RSA-2048 or ECC P-256' })
      .option('ek', { type: 'string', choices: ['rsa', 'ecc'], describe: 'EK to prove the AK with (default: the first EK certificate found)' })
      .option('hostname', { type: 'string', describe: 'name to enroll as (default: this machine\'s FQDN)' })
      .option('state-dir', stateDirOption)
      .option('timeout', { type: 'number', default: 60, describe: 'seconds to wait for the TPM and the server' }) as never,
  handler: (argv) =>
    run(async () => {
      const result = await enroll({
        server: await serverEndpoint(argv),
        tcti: argv.tpm,
        alg: argv.alg === 'rsa' ? 'rsa' : 'ecc',
        ekAlg: argv.ek as 'rsa' | 'ecc' | undefined,
        hostname: argv.hostname ?? defaultHostname(),
        stateDir: stateDir(argv['state-dir']),
        timeoutMs: argv.timeout * 1000,
        logger: createLogger({ name: 'acs-client', level: 'warn' }),
      });
      console.log(`enrolled ${result.hostname} (EK ${result.ekTemplate}); AK certificate issued by ${escapeUnprintable(result.akCert.issuer.replace(/\n/g, ', '))}`);
    }),
};
