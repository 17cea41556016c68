/**
 * Seeds for the fuzz targets, all taken from the real fixtures: the IBM ACS
 * wire transcripts (test/fixtures/acs-wire) and the firmware and IMA logs
 * (test/fixtures/eventlogs). Structures inside them (akpub, quoted, events)
 * are pulled out so each parser starts from well-formed input of its own.
 */
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EventLogError } from '../../shared/eventlog/errors.js';
import { parseFirmwareLog, type FirmwareLog } from '../../shared/eventlog/firmware/event.js';
import { parseImaAsciiLog, templateHashAlgBySize } from '../../shared/eventlog/ima/ascii.js';
import { parseImaBinaryLog, type ImaEvent } from '../../shared/eventlog/ima/event.js';
import { encodeImaWireEvent } from '../../shared/eventlog/ima/wire.js';
import { ACS_WIRE_DIR } from '../helpers/acs-wire.js';

export const EVENTLOG_DIR = fileURLToPath(new URL('../../../test/fixtures/eventlogs/', import.meta.url));

export function files(dir: string, suffix: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(suffix)).sort().map((f) => `${dir}${f}`);
}

const read = (file: string): Buffer => readFileSync(file);

/** Results of fn for the items it accepts; items it rejects with one of `typed` are left out. */
export function accepted<T, R>(items: readonly T[], typed: readonly (new (...a: never[]) => Error)[], fn: (x: T) => R): R[] {
  const out: R[] = [];
  for (const x of items) {
    try {
      out.push(fn(x));
    } catch (err) {
      if (!typed.some((C) => err instanceof C)) throw err;
    }
  }
  return out;
}

// ---------------------------------------------------------------- IBM ACS wire

type Json = Record<string, unknown>;
let wireJsonCache: Json[] | undefined;

/** Every JSON payload of the IBM transcripts, requests and responses. */
export function wireJson(): Json[] {
  wireJsonCache ??= [...files(ACS_WIRE_DIR, '.json'), ...files(`${ACS_WIRE_DIR}errors/`, '.json')]
    .map((f) => JSON.parse(readFileSync(f, 'utf8')) as Json);
  return wireJsonCache;
}

/** The distinct well-formed hex values of one member across the transcripts, decoded. */
export function wireHex(key: string): Buffer[] {
  const values = new Set(wireJson().map((o) => o[key]).filter((v): v is string => typeof v === 'string' && /^(?:[0-9a-f]{2})+$/i.test(v)));
  return [...values].map((v) => Buffer.from(v, 'hex'));
}

/** The JSON text of every request or every response. */
export function wireText(kind: 'request' | 'response'): Buffer[] {
  return [...files(ACS_WIRE_DIR, `-${kind}.json`), ...files(`${ACS_WIRE_DIR}errors/`, `-${kind}.json`)].map(read);
}

export function wireFrames(): Buffer[] {
  return files(`${ACS_WIRE_DIR}raw/`, '.frame').map(read);
}

export const malformedRequest = (): Buffer => read(`${ACS_WIRE_DIR}errors/malformed-json-request.txt`);

/** The AK of the transcripts' enrollment (TPMT_PUBLIC). */
export const akPublic = (): Buffer => Buffer.from(wireJson().find((o) => o.command === 'enrollrequest')!.akpub as string, 'hex');

/** `prefix`0, 1, … (or from imaentry for IMA) of the full quote request, decoded. */
export function quoteEvents(prefix: 'event' | 'imaevent'): Buffer[] {
  const obj = JSON.parse(readFileSync(`${ACS_WIRE_DIR}quote-request-full.json`, 'utf8')) as Json;
  const out: Buffer[] = [];
  for (let i = prefix === 'event' ? 0 : Number(obj.imaentry ?? 0); typeof obj[`${prefix}${i}`] === 'string'; i++) {
    out.push(Buffer.from(obj[`${prefix}${i}`] as string, 'hex'));
  }
  return out;
}

// ---------------------------------------------------------------- event logs

export function firmwareLogs(): Buffer[] {
  return files(`${EVENTLOG_DIR}bios/`, '.bin').map(read);
}

export function parsedFirmwareLogs(): FirmwareLog[] {
  return accepted(firmwareLogs(), [EventLogError], parseFirmwareLog);
}

/** Template-hash size of each binary log, which the file itself does not record (README of the fixtures). */
const IMA_BINARY_HASH: Record<string, 'sha1' | 'sha384' | 'sha512'> = {
  'ibmtss_ima_sha384.bin': 'sha384',
  'ibmtss_ima_sha512.bin': 'sha512',
};

function imaBinaryFiles(): { alg: 'sha1' | 'sha384' | 'sha512'; bytes: Buffer }[] {
  return files(`${EVENTLOG_DIR}ima/`, '.bin').map((f) => ({ alg: IMA_BINARY_HASH[f.slice(f.lastIndexOf('/') + 1)] ?? 'sha1', bytes: read(f) }));
}

/**
 * The first `events` records of each binary IMA log: the records of a log
 * are alike, and a short log lets every input reach its end quickly.
 */
export function imaBinaryLogs(events: number, alg?: 'sha1'): Buffer[] {
  return imaBinaryFiles().filter((f) => alg === undefined || f.alg === alg).map(({ alg: a, bytes }) => {
    const head = parseImaBinaryLog(bytes, { templateHashAlg: a }).slice(0, events).at(-1)!.templateData;
    return bytes.subarray(0, head.byteOffset - bytes.byteOffset + head.length);
  });
}

export function imaAsciiLogs(): Buffer[] {
  return files(`${EVENTLOG_DIR}ima/`, '.ascii').map(read);
}

/** Every IMA event of the fixtures in the IBM wire form (with the algorithm field). */
function imaWireEvents(): Buffer[] {
  const events: Buffer[] = [...quoteEvents('imaevent')];
  for (const { alg, bytes } of imaBinaryFiles()) {
    for (const ev of parseImaBinaryLog(bytes, { templateHashAlg: alg })) events.push(encodeImaWireEvent(ev, alg));
  }
  for (const text of imaAsciiLogs()) {
    const parsed: ImaEvent[] = accepted([text.toString('utf8')], [EventLogError], (t) => parseImaAsciiLog(t)).flat();
    for (const ev of parsed) events.push(encodeImaWireEvent(ev, templateHashAlgBySize(ev.templateHash.length)));
  }
  return events;
}

/** IMA wire events in runs of up to `size` consecutive events, so one input stays small. */
export function imaWireRuns(size: number): Buffer[][] {
  const events = imaWireEvents();
  const out: Buffer[][] = [];
  for (let i = 0; i < events.length; i += size) out.push(events.slice(i, i + size));
  return out;
}

/** The public keys that verify the fixtures' IMA signatures. */
export function imaKeys(): KeyObject[] {
  return files(`${EVENTLOG_DIR}keys/`, '').map((file) => {
    const bytes = read(file);
    if (file.endsWith('.pem')) return createPublicKey(bytes);
    return new X509Certificate(bytes).publicKey;
  });
}
