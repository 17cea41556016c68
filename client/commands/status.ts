/**
 * `acs-client status`: for an operator at the host, what the state dir
 * holds: enrolled or not, as which hostname, with which AK and certificate,
 * which server, and what the last attestation run did and when. Reads
 * files only: no TPM, no network.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { CommandModule } from 'yargs';
import { loadAttestationRecord } from '../attestation-record.js';
import { EXIT, NotEnrolledError } from '../exit-codes.js';
import { loadEnrollment } from '../state-dir.js';
import { configOption, hostSettings, jsonOption, run, stateDirOption, type HostArgs } from './common.js';

interface Args extends HostArgs {
  json: boolean;
}

export const statusCommand: CommandModule<object, Args> = {
  command: 'status',
  describe: 'show enrollment, server, hostname, AK and the last attestation result (exit 6 when not enrolled)',
  builder: (y) =>
    y
      .option('state-dir', stateDirOption)
      .option('config', configOption)
      .option('json', jsonOption) as never,
  handler: (argv) =>
    run(async () => {
      const s = await hostSettings(argv);
      let enrollment;
      try {
        enrollment = await loadEnrollment(s.stateDir);
      } catch (e) {
        if (!(e instanceof NotEnrolledError)) throw e;
      }
      const last = await loadAttestationRecord(s.stateDir);
      const cert = enrollment ? new X509Certificate(enrollment.akCertPem) : undefined;
      const status = {
        enrolled: enrollment !== undefined,
        stateDir: s.stateDir,
        server: s.serverText ?? null,
        hostname: s.hostname ?? enrollment?.hostname ?? null,
        ak: enrollment && cert
          ? {
              alg: enrollment.alg,
              subject: cert.subject.replace(/\n/g, ', '),
              issuer: cert.issuer.replace(/\n/g, ', '),
              validTo: new Date(cert.validTo).toISOString(),
              sha256: createHash('sha256').update(cert.raw).digest('hex'),
            }
          : null,
        lastAttestation: last ?? null,
      };
      if (argv.json) {
        process.stdout.write(`${JSON.stringify(status)}\n`);
      } else {
        const lastLine = last
          ? `${last.outcome} at ${last.time}${last.verdict ? `: ${last.verdict.code} ${last.verdict.diagnosis}` : last.error ? `: ${last.error}` : ''}`
          : 'none';
        const rows: [string, string][] = [
          ['enrolled', status.enrolled ? 'yes' : `no (run "acs-client enroll")`],
          ['hostname', status.hostname ?? '-'],
          ['server', status.server ?? `- (set "server" in ${s.configFile})`],
          ['AK', status.ak ? `${status.ak.alg}, certificate ${status.ak.subject}, issued by ${status.ak.issuer}, valid to ${status.ak.validTo}` : '-'],
          ['AK cert sha256', status.ak?.sha256 ?? '-'],
          ['last attestation', lastLine],
          ['state dir', s.stateDir],
        ];
        for (const [k, v] of rows) console.log(`${`${k}:`.padEnd(18)}${v}`);
      }
      if (!status.enrolled) process.exitCode = EXIT.NOT_ENROLLED;
    }),
};
