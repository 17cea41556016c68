/**
 * `acs-client attest`, as cron and the systemd timer run it: one run at a
 * time per state dir, an optional random delay, retries of transient
 * failures, silence on success, one stderr line and a documented exit code
 * on failure, and the result kept in the state dir for `acs-client status`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandModule } from 'yargs';
import { AcsError, describeError, formatErrorCode } from '../../shared/protocol/errors.js';
import { attest, DEFAULT_BIOS_LOG, DEFAULT_IMA_LOG, type AttestResult } from '../attest.js';
import { saveAttestationRecord, type AttestationRecord } from '../attestation-record.js';
import { EXIT, exitCodeFor, outcomeFor } from '../exit-codes.js';
import { bootTime, defaultUserid } from '../identity.js';
import { withRetries, AttemptsError } from '../retry.js';
import { acquireRunLock } from '../run-lock.js';
import {
  clientLogger, configOption, explain, hostSettings, jsonOption, requireServer, retriesOption, rootError, serverAndTpmOptions, stateDirOption, wholeNumber,
  type HostArgs,
} from './common.js';

interface Args extends HostArgs {
  'bios-log': string;
  'ima-log': string;
  'ima-hash-alg': string;
  userid?: string;
  boottime?: string;
  timeout: number;
  splay: number;
  retries: number;
  json: boolean;
  verbose: boolean;
}

/** What `--json` prints: the record `status` shows, with the run's details. */
interface AttestJson extends AttestationRecord {
  attempts: number;
  newBoot?: boolean;
  firmwareEventsSent?: number;
  imaFrom?: number;
  timings: { splayMs: number; totalMs: number } & Partial<AttestResult['timings']>;
}

/** A progress line on stderr for long uploads, when someone watches a terminal. */
function progressLine(): { update: (n: number, sending: boolean) => void; clear: () => void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  let shown = false;
  return {
    update: (n, sending) => {
      if (!sending && n === 0) return;
      shown = true;
      process.stderr.write(`\r\x1b[K${sending ? `sending ${n} IMA events, waiting for the server's verdict` : `reading the IMA log: ${n} events`}`);
    },
    clear: () => {
      if (shown) process.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

export const attestCommand: CommandModule<object, Args> = {
  command: 'attest',
  describe: 'attest this machine to the server (run by the timer or cron)',
  builder: (y) =>
    serverAndTpmOptions(y)
      .option('hostname', { type: 'string', describe: 'name to attest as (client.conf "hostname", default: the enrolled name)' })
      .option('state-dir', stateDirOption)
      .option('config', configOption)
      .option('bios-log', { type: 'string', default: DEFAULT_BIOS_LOG, describe: 'firmware event log (binary)' })
      .option('ima-log', { type: 'string', default: DEFAULT_IMA_LOG, describe: 'IMA log (binary)' })
      .option('ima-hash-alg', { type: 'string', choices: ['sha1', 'sha256', 'sha384', 'sha512'], default: 'sha1', describe: 'template-hash algorithm of the IMA log file' })
      .option('userid', { type: 'string', describe: 'reported login (default: the current user)' })
      .option('boottime', { type: 'string', describe: 'boot time "YYYY-MM-DD HH:MM:SS" (default: from /proc/stat)' })
      .option('timeout', { type: 'number', default: 120, describe: 'seconds to wait for the TPM and the server, per attempt' })
      .option('splay', { type: 'number', default: 0, describe: 'wait a random 0..SECONDS before contacting the server' })
      .option('retries', retriesOption)
      .option('json', jsonOption)
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'say what was attested on success (silent by default)' }) as never,
  handler: async (argv) => {
    const started = performance.now();
    const json: AttestJson = { time: '', outcome: 'attested', exitCode: 0, server: argv.server ?? '', attempts: 0, timings: { splayMs: 0, totalMs: 0 } };
    const progress = progressLine();
    let stateDir: string | undefined;
    let result: AttestResult | undefined;
    try {
      const s = await hostSettings(argv);
      const server = requireServer(s);
      json.server = `${server.host}:${server.port}`;
      const retries = wholeNumber('retries', argv.retries);
      const splayS = wholeNumber('splay', argv.splay);
      const lock = await acquireRunLock(s.stateDir);
      stateDir = s.stateDir;
      try {
        json.timings.splayMs = Math.round(Math.random() * splayS * 1000);
        await sleep(json.timings.splayMs);
        const logger = clientLogger();
        const run = await withRetries({ retries }, (n) => {
          json.attempts = n;
          return attest({
            server,
            tcti: s.tcti,
            stateDir: s.stateDir,
            hostname: s.hostname,
            userid: argv.userid ?? defaultUserid(),
            bootTime: argv.boottime ?? bootTime(),
            biosLog: argv['bios-log'],
            imaLog: argv['ima-log'],
            imaHashAlg: argv['ima-hash-alg'] as 'sha1',
            timeoutMs: argv.timeout * 1000,
            progress: progress?.update,
            logger,
          });
        });
        result = run.value;
      } finally {
        progress?.clear();
        await lock.release();
      }
    } catch (err) {
      const cause = rootError(err);
      json.exitCode = exitCodeFor(cause);
      json.outcome = outcomeFor(json.exitCode);
      json.error = explain(err);
      if (err instanceof AttemptsError) json.attempts = err.attempts;
      if (json.exitCode === EXIT.REFUSED && cause instanceof AcsError) {
        const meaning = describeError(cause.code);
        // The server's own sentence, without the code's meaning the client put in front of it.
        const diagnosis = cause.message.startsWith(`${meaning}: `) ? cause.message.slice(meaning.length + 2) : cause.message;
        json.verdict = { code: formatErrorCode(cause.code), meaning, diagnosis };
      }
      console.error(`acs-client: ${json.error}`);
      process.exitCode = json.exitCode;
    }
    if (result) {
      Object.assign(json, {
        hostname: result.hostname,
        newBoot: result.newBoot,
        firmwareEventsSent: result.firmwareEvents,
        imaFrom: result.imaEntry,
        imaEntriesSent: result.imaEvents,
      });
      Object.assign(json.timings, result.timings);
      if (argv.verbose) {
        console.log(
          `attested ${result.hostname}: ${result.newBoot ? `new boot, ${result.firmwareEvents} firmware events, ` : ''}` +
            `${result.imaEvents} IMA events from ${result.imaEntry}${result.retried ? ' (retried with full logs after a TPM reset)' : ''}`,
        );
      }
    }
    json.time = new Date().toISOString();
    json.timings.totalMs = Math.round(performance.now() - started);
    // The lock holder's record is its own to write; a usage error may not know the state dir.
    if (stateDir && json.exitCode !== EXIT.LOCKED) await keepRecord(stateDir, json);
    if (argv.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  },
};

async function keepRecord(stateDir: string, j: AttestJson): Promise<void> {
  const { time, outcome, exitCode, server, hostname, error, verdict, imaEntriesSent } = j;
  try {
    await saveAttestationRecord(stateDir, { time, outcome, exitCode, server, hostname, error, verdict, imaEntriesSent });
  } catch (e) {
    console.error(`acs-client: cannot keep the result in ${stateDir}: ${(e as Error).message}`);
  }
}
