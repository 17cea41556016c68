/**
 * `acs-client eventlog`: parse and replay a firmware or IMA log on its own,
 * the way the server will (inspection and troubleshooting). Binary IMA logs
 * are streamed, so a long log is never held in memory.
 */
import { open, readFile } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { HASH_ALGS, type HashAlg } from '../../shared/tpm/constants.js';
import { EventLogError } from '../../shared/eventlog/errors.js';
import { describeEventData } from '../../shared/eventlog/firmware/event-data.js';
import { eventTypeName } from '../../shared/eventlog/firmware/event-types.js';
import { parseFirmwareLog } from '../../shared/eventlog/firmware/event.js';
import { replayFirmwareLog } from '../../shared/eventlog/firmware/replay.js';
import { parseImaAsciiLog, templateHashAlgBySize } from '../../shared/eventlog/ima/ascii.js';
import { resolveTemplateHashAlg, type ImaEvent } from '../../shared/eventlog/ima/event.js';
import { ImaReplayer, type ImaReplayRule } from '../../shared/eventlog/ima/replay.js';
import { ImaKeyring, type ImaSignatureStatus } from '../../shared/eventlog/ima/signature.js';
import { readImaLogFile } from '../../shared/eventlog/ima/stream.js';
import { decodeImaTemplate, type ImaTemplateInfo } from '../../shared/eventlog/ima/template.js';
import { bankLabel, parseBankLabel, pcrValuesToJson, type PcrValues } from '../../shared/eventlog/pcr-values.js';
import { run } from './common.js';

interface Args {
  bios?: string;
  ima?: string;
  'hash-alg'?: string;
  'ima-keys'?: string[];
  rule: ImaReplayRule;
  banks?: string[];
  format: 'auto' | 'binary' | 'ascii';
  'big-endian': boolean;
  json: boolean;
}

const RULES: readonly ImaReplayRule[] = ['per_bank_template_data_hash', 'sha1_zero_padded', 'as_logged'];

/** Writes one line of the human-readable listing. */
type Out = (line: string) => void;

const pcrLabel = (pcr: number) => (pcr === 0xffffffff ? '  -' : String(pcr).padStart(3));

function printPcrs(out: Out, pcrs: PcrValues): void {
  for (const [alg, bank] of pcrs) {
    for (const pcr of [...bank.keys()].sort((a, b) => a - b)) out(`${bankLabel(alg)} PCR ${String(pcr).padStart(2)}: ${bank.get(pcr)!.toString('hex')}`);
  }
}

async function firmwareReport(file: string, json: boolean, out: Out): Promise<object> {
  const log = parseFirmwareLog(await readFile(file));
  const replay = replayFirmwareLog(log);
  if (!json) {
    for (const ev of log.events) {
      const d = ev.digests[0];
      const digest = d ? `${HASH_ALGS.get(d.alg)?.name ?? `0x${d.alg.toString(16)}`}:${d.digest.toString('hex')}` : '-';
      out(`${String(ev.index).padStart(4)} PCR${pcrLabel(ev.pcrIndex)} ${eventTypeName(ev.eventType).padEnd(34)} ${digest} ${describeEventData(ev)}`);
    }
    if (replay.startupLocality !== null) out(`startup locality ${replay.startupLocality}`);
    printPcrs(out, replay.pcrs);
  }
  return { format: log.format, events: log.events.length, pcrs: pcrValuesToJson(replay.pcrs) };
}

/** ASCII logs start "10 <hex> <template>"; binary ones with a little- or big-endian PCR index. */
async function looksAscii(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(256), 0, 256, 0);
    return /^\d{1,2} [0-9a-fA-F]+ /.test(buffer.toString('latin1', 0, bytesRead));
  } finally {
    await fh.close();
  }
}

interface ImaTally {
  events: number;
  violations: number;
  mismatches: number[];
  unparseable: number[];
  signatures: Record<ImaSignatureStatus, number>;
}

function imaLine(ev: ImaEvent, info: ImaTemplateInfo | null, check: string, sig: ImaSignatureStatus | null): string {
  const file = info?.fileDigest ? `${info.fileDigest.alg}:${info.fileDigest.digest.toString('hex')}` : '-';
  const name = info ? (info.fileName ?? '') : '(template data does not parse)';
  const notes = [check === 'ok' ? '' : `[${check}]`, sig ? `[sig ${sig}]` : ''].filter(Boolean).join(' ');
  return `${String(ev.index).padStart(6)} PCR${pcrLabel(ev.pcrIndex)} ${ev.templateName} ${ev.templateHash.toString('hex')} ${file} ${name}${notes ? ` ${notes}` : ''}`;
}

async function imaReport(argv: Args, out: Out): Promise<object> {
  const file = argv.ima!;
  const ascii = argv.format === 'ascii' || (argv.format === 'auto' && (await looksAscii(file)));
  const asciiEvents = ascii ? parseImaAsciiLog(await readFile(file, 'utf8'), { templateHashAlg: argv['hash-alg'] }) : null;
  const templateHashAlg: HashAlg = argv['hash-alg']
    ? resolveTemplateHashAlg(argv['hash-alg'])
    : (asciiEvents?.[0] && templateHashAlgBySize(asciiEvents[0].templateHash.length)) || 'sha1';
  const banks: HashAlg[] = argv.banks
    ? argv.banks.flatMap((b) => b.split(',')).map(parseBankLabel)
    : argv.rule === 'as_logged' ? [templateHashAlg] : [...new Set<HashAlg>([templateHashAlg, 'sha256'])];
  const replayer = new ImaReplayer({ templateHashAlg, banks, rule: argv.rule });
  const keys = argv['ima-keys']?.length ? await ImaKeyring.fromFiles(argv['ima-keys']) : null;
  const tally: ImaTally = { events: 0, violations: 0, mismatches: [], unparseable: [], signatures: { ok: 0, nosig: 0, nokey: 0, badsig: 0 } };

  const events: AsyncIterable<ImaEvent> | Iterable<ImaEvent> =
    asciiEvents ?? readImaLogFile(file, { templateHashAlg, bigEndian: argv['big-endian'] });
  for await (const ev of events) {
    const check = replayer.extend(ev);
    tally.events++;
    if (check === 'violation') tally.violations++;
    if (check === 'mismatch') tally.mismatches.push(ev.index);
    let info: ImaTemplateInfo | null = null;
    try {
      info = decodeImaTemplate(ev);
    } catch (e) {
      if (!(e instanceof EventLogError)) throw e;
      tally.unparseable.push(ev.index);
    }
    const sig = keys && info ? keys.verifyEvent(info) : null;
    if (sig) tally.signatures[sig]++;
    if (!argv.json) out(imaLine(ev, info, check, sig));
  }
  const pcrs = replayer.state().pcrs;
  if (!argv.json) {
    out(`${tally.events} events, ${tally.violations} violations, ${tally.mismatches.length} template hash mismatches`);
    if (keys) out(`signatures: ${Object.entries(tally.signatures).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    printPcrs(out, pcrs);
  }
  return {
    format: ascii ? 'ima-ascii' : 'ima-binary',
    events: tally.events,
    pcrs: pcrValuesToJson(pcrs),
    templateHashAlg: bankLabel(templateHashAlg),
    rule: argv.rule,
    violations: tally.violations,
    templateHashMismatches: tally.mismatches,
    unparseableTemplateData: tally.unparseable,
    ...(keys ? { signatures: tally.signatures } : {}),
  };
}

export const eventlogCommand: CommandModule<object, Args> = {
  command: 'eventlog',
  describe: 'parse and replay a firmware (--bios) or IMA (--ima) event log',
  builder: (y) =>
    y
      .option('bios', { type: 'string', describe: 'firmware event log (binary_bios_measurements)' })
      .option('ima', { type: 'string', describe: 'IMA log, binary or ASCII (binary_runtime_measurements)' })
      .option('hash-alg', {
        type: 'string',
        choices: ['sha1', 'sha256', 'sha384', 'sha512', 'sm3_256'],
        describe: 'IMA template-hash algorithm (default sha1; ASCII logs: from the hash length)',
      })
      .option('ima-keys', { type: 'string', array: true, describe: 'X.509 certificates or public keys (DER/PEM) for IMA signatures' })
      .option('rule', { type: 'string', choices: RULES, default: 'per_bank_template_data_hash' as ImaReplayRule, describe: 'how IMA extends banks other than the template-hash bank' })
      .option('banks', { type: 'string', array: true, describe: 'IMA PCR banks to replay (default: template-hash bank and sha256)' })
      .option('format', { type: 'string', choices: ['auto', 'binary', 'ascii'] as const, default: 'auto' as const, describe: 'IMA log format' })
      .option('big-endian', { type: 'boolean', default: false, describe: 'binary IMA log from a big-endian host' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object instead of the listing' })
      .check((a) => (Boolean(a.bios) !== Boolean(a.ima) ? true : 'give exactly one of --bios FILE or --ima FILE')) as never,
  handler: (argv) =>
    run(async () => {
      const lines: string[] = [];
      const out: Out = (line) => {
        lines.push(line);
        if (lines.length >= 512) process.stdout.write(`${lines.splice(0).join('\n')}\n`);
      };
      const file = (argv.bios ?? argv.ima)!;
      let report: object;
      try {
        report = argv.bios ? await firmwareReport(argv.bios, argv.json, out) : await imaReport(argv, out);
      } catch (e) {
        if (e instanceof EventLogError || (e as NodeJS.ErrnoException).code) throw new Error(`${file}: ${(e as Error).message}`);
        throw e;
      }
      if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
      if (argv.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    }),
};
