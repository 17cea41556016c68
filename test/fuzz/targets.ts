/**
 * The fuzz targets: every parser that reads bytes from a client, a server or
 * a log, each with its seeds (real fixtures) and its mutator. A target ends
 * in a value or in one of its `typed` errors; anything else it throws (a
 * TypeError, a RangeError, a PropertyViolation) is a finding.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KeyError, publicKeyFromTpm } from '../../shared/crypto/keys.js';
import { verifyQuoteSignature } from '../../shared/crypto/quote.js';
import { EventLogError, ReplayError } from '../../shared/eventlog/errors.js';
import { describeEventData } from '../../shared/eventlog/event-data.js';
import { parseFirmwareLog, type FirmwareEvent } from '../../shared/eventlog/firmware-event.js';
import { replayFirmwareLog } from '../../shared/eventlog/firmware-replay.js';
import { decodeFirmwareWireEvents, encodeFirmwareWireEvents } from '../../shared/eventlog/firmware-wire.js';
import { parseImaBinaryLog, type ImaParseOptions } from '../../shared/eventlog/ima-event.js';
import { ImaLogReader } from '../../shared/eventlog/ima-stream.js';
import { decodeImaTemplate, templateHashInput } from '../../shared/eventlog/ima-template.js';
import { AcsError } from '../../shared/protocol/errors.js';
import { FrameDecoder, decodePayload } from '../../shared/protocol/frame.js';
import { isCommand, parseRequest, parseResponse } from '../../shared/protocol/messages.js';
import { unmarshalAttest, quoteInfo } from '../../shared/tpm/attest.js';
import { MarshalError } from '../../shared/tpm/buffer.js';
import { EK_TEMPLATES } from '../../shared/tpm/ek-templates.js';
import { objectName } from '../../shared/tpm/name.js';
import { marshalPcrSelection, selectionOrder, unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import { marshalPublic, marshalPublic2b, unmarshalPublic, unmarshalPublic2b } from '../../shared/tpm/public.js';
import { unmarshalSignature } from '../../shared/tpm/signature.js';
import { unmarshalEncryptedSecret, unmarshalIdObject } from '../../shared/tpm/tpm2b.js';
import { ACS_WIRE_DIR } from '../helpers/acs-wire.js';
import { Rng, decodeRecords, encodeRecords, fnv1a, mutateBytes, mutateJson, mutateRecords } from './mutate.js';

type ErrorClass = abstract new (...args: never[]) => Error;

export interface Target {
  name: string;
  /** The seeds, from the fixtures. */
  corpus(): Buffer[];
  mutate(rng: Rng, seed: Buffer, corpus: readonly Buffer[]): Buffer;
  /** Parses one input; may return a promise. */
  run(input: Buffer): unknown;
  /** The parser's own error classes: throwing one of these is a clean rejection. */
  typed: readonly ErrorClass[];
}

/** A property the target checks beyond "no untyped error" does not hold. */
export class PropertyViolation extends Error {
  override name = 'PropertyViolation';
}

export function isTyped(typed: readonly ErrorClass[], err: unknown): boolean {
  return typed.some((C) => err instanceof C);
}

/** Runs fn; a typed error is a clean outcome, anything else propagates. */
function settle(typed: readonly ErrorClass[], fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!isTyped(typed, err)) throw err;
  }
}

// ---------------------------------------------------------------- seeds

const EVENTLOG_DIR = fileURLToPath(new URL('../../../test/fixtures/eventlogs/', import.meta.url));

function files(dir: string, suffix: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(suffix)).sort().map((f) => `${dir}${f}`);
}

let wireJsonCache: Record<string, unknown>[] | undefined;

/** Every JSON payload of the IBM transcripts, requests and responses. */
function wireJson(): Record<string, unknown>[] {
  wireJsonCache ??= [...files(ACS_WIRE_DIR, '.json'), ...files(`${ACS_WIRE_DIR}errors/`, '.json')]
    .map((f) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>);
  return wireJsonCache;
}

/** The distinct values of one member across the transcripts that are well-formed hex, decoded. */
function wireHex(key: string): Buffer[] {
  const values = new Set(wireJson().map((o) => o[key]).filter((v): v is string => typeof v === 'string' && /^(?:[0-9a-f]{2})+$/i.test(v)));
  return [...values].map((v) => Buffer.from(v, 'hex'));
}

/** The seeds that `parse` accepts: transcripts of refused requests hold damaged structures too. */
function parseable<T>(seeds: Buffer[], parse: (b: Buffer) => T): T[] {
  const out: T[] = [];
  for (const b of seeds) settle([MarshalError], () => out.push(parse(b)));
  return out;
}

function wireText(kind: 'request' | 'response'): Buffer[] {
  return [...files(ACS_WIRE_DIR, `-${kind}.json`), ...files(`${ACS_WIRE_DIR}errors/`, `-${kind}.json`)]
    .map((f) => readFileSync(f));
}

function firmwareLogs(): Buffer[] {
  return files(`${EVENTLOG_DIR}bios/`, '.bin').map((f) => readFileSync(f));
}

/** The event0..eventK members of a quote request, in order. */
function wireEvents(obj: Record<string, unknown>, prefix: string): Buffer[] {
  const out: Buffer[] = [];
  const first = prefix === 'event' ? 0 : Number(obj.imaentry ?? 0);
  for (let i = first; typeof obj[`${prefix}${i}`] === 'string'; i++) out.push(Buffer.from(obj[`${prefix}${i}`] as string, 'hex'));
  return out;
}

const quoteRequestFull = (): Record<string, unknown> =>
  JSON.parse(readFileSync(`${ACS_WIRE_DIR}quote-request-full.json`, 'utf8')) as Record<string, unknown>;

const akPublic = (): Buffer => Buffer.from(wireJson().find((o) => o.command === 'enrollrequest')!.akpub as string, 'hex');

/** Each parseable firmware log of the fixtures. */
function parsedFirmwareLogs(): ReturnType<typeof parseFirmwareLog>[] {
  const out: ReturnType<typeof parseFirmwareLog>[] = [];
  for (const b of firmwareLogs()) settle([EventLogError], () => out.push(parseFirmwareLog(b)));
  return out;
}

// ---------------------------------------------------------------- runners

/** Chunk sizes come from the input's own hash, so a saved input replays the same cuts. */
function frameChunks(input: Buffer): Buffer[] {
  const rng = new Rng(fnv1a(input), input.length);
  const out: Buffer[] = [];
  for (let o = 0; o < input.length;) {
    const n = 1 + rng.below(rng.chance(0.2) ? 8 : 4096);
    out.push(input.subarray(o, o + n));
    o += n;
  }
  return out;
}

interface Decoded { payloads: Buffer[]; pending: number; error?: unknown }

function decodeFrames(chunks: readonly Buffer[]): Decoded {
  const d = new FrameDecoder();
  const payloads: Buffer[] = [];
  try {
    for (const c of chunks) d.push(c, (p) => payloads.push(Buffer.from(p)));
  } catch (error) {
    return { payloads, pending: -1, error };
  }
  return { payloads, pending: d.pendingBytes };
}

/** Whole and in chunks, the decoder must cut the same frames and fail the same way. */
function runFrames(input: Buffer): void {
  const whole = decodeFrames([input]);
  const cut = decodeFrames(frameChunks(input));
  for (const r of [whole, cut]) if (r.error !== undefined && !(r.error instanceof AcsError)) throw r.error;
  const same = whole.payloads.length === cut.payloads.length
    && whole.payloads.every((p, i) => p.equals(cut.payloads[i]))
    && whole.pending === cut.pending
    && (whole.error as AcsError | undefined)?.code === (cut.error as AcsError | undefined)?.code;
  if (!same) throw new PropertyViolation('chunked decoding differs from whole decoding');
  for (const p of whole.payloads) settle([AcsError], () => decodePayload(p));
}

function runResponse(input: Buffer): unknown {
  const obj = decodePayload(input);
  const command = typeof obj.response === 'string' && isCommand(obj.response) ? obj.response : 'quote';
  return parseResponse(command, obj);
}

function runPublic(input: Buffer): unknown {
  const pub = unmarshalPublic(input);
  objectName(input);
  return publicKeyFromTpm(pub);
}

function runAttest(input: Buffer): unknown {
  const q = quoteInfo(unmarshalAttest(input));
  return q && selectionOrder(q.pcrSelect);
}

/** Quote-verify input: records [quoted, marshaled TPMT_SIGNATURE]. */
function quoteVerifier(): Pick<Target, 'corpus' | 'run' | 'mutate'> {
  let state: { ak: ReturnType<typeof unmarshalPublic>; genuine: Set<string>; corpus: Buffer[] } | undefined;
  const load = () => {
    if (state) return state;
    const ak = unmarshalPublic(akPublic());
    const corpus: Buffer[] = [];
    for (const o of wireJson()) {
      if (typeof o.quoted !== 'string' || typeof o.signature !== 'string') continue;
      const [q, s] = [Buffer.from(o.quoted, 'hex'), Buffer.from(o.signature, 'hex')];
      settle([MarshalError], () => {
        if (verifyQuoteSignature(ak, q, unmarshalSignature(s))) corpus.push(encodeRecords([q, s]));
      });
    }
    return (state = { ak, genuine: new Set(corpus.map((c) => c.toString('hex'))), corpus });
  };
  return {
    corpus: () => load().corpus,
    mutate(rng, seed, corpus) {
      const [q, s] = decodeRecords(seed);
      const op = rng.below(4);
      if (op === 3) return encodeRecords([q, decodeRecords(rng.pick(corpus))[1]]);
      return encodeRecords([op !== 1 ? mutateBytes(rng, q, []) : q, op !== 0 ? mutateBytes(rng, s, []) : s]);
    },
    run(input) {
      const { ak, genuine } = load();
      const [quoted = Buffer.alloc(0), sig = Buffer.alloc(0)] = decodeRecords(input);
      const ok = verifyQuoteSignature(ak, quoted, unmarshalSignature(sig));
      if (ok && !genuine.has(encodeRecords([quoted, sig]).toString('hex'))) {
        throw new PropertyViolation('a quote or signature that is not one the TPM produced verified');
      }
      return ok;
    },
  };
}

function runFirmwareLog(input: Buffer): unknown {
  return replayFirmwareLog(parseFirmwareLog(input));
}

function runFirmwareWire(input: Buffer): unknown {
  return replayFirmwareLog(decodeFirmwareWireEvents(decodeRecords(input)));
}

/** Event-data input: pcrIndex u32 BE | eventType u32 BE | data. */
function encodeEventData(ev: FirmwareEvent): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(ev.pcrIndex, 0);
  head.writeUInt32BE(ev.eventType >>> 0, 4);
  return Buffer.concat([head, ev.data]);
}

/** describeEventData promises never to throw, so no error is typed here. */
function runEventData(input: Buffer): unknown {
  const head = Buffer.concat([input.subarray(0, 8), Buffer.alloc(Math.max(0, 8 - input.length))]);
  const ev: FirmwareEvent = {
    index: 0, pcrIndex: head.readUInt32BE(0), eventType: head.readUInt32BE(4), digests: [], data: input.subarray(8),
  };
  const text = describeEventData(ev);
  if (typeof text !== 'string') throw new PropertyViolation('describeEventData did not return a string');
  return text;
}

/** The log does not say its template-hash size or byte order, so every reading the parser offers is tried. */
const IMA_READINGS: readonly ImaParseOptions[] = [
  { templateHashAlg: 'sha1' }, { templateHashAlg: 'sha256' }, { templateHashAlg: 'sha384' },
  { templateHashAlg: 'sha512' }, { templateHashAlg: 'sha1', bigEndian: true },
];
const IMA_TYPED = [EventLogError];

function runImaBinary(input: Buffer): void {
  for (const opts of IMA_READINGS) {
    settle(IMA_TYPED, () => {
      for (const ev of parseImaBinaryLog(input, opts)) {
        templateHashInput(ev);
        settle(IMA_TYPED, () => decodeImaTemplate(ev));
      }
    });
  }
}

/** The streaming reader over chunks cut as the frame target cuts them. */
async function runImaStream(input: Buffer): Promise<number> {
  async function* chunks(): AsyncGenerator<Buffer> {
    for (const c of frameChunks(input)) yield c;
  }
  let n = 0;
  for await (const ev of new ImaLogReader(chunks())) n += ev.templateData.length > 0 ? 1 : 0;
  return n;
}

// ---------------------------------------------------------------- the table

const bytes = (name: string, typed: readonly ErrorClass[], corpus: () => Buffer[], run: (b: Buffer) => unknown): Target =>
  ({ name, corpus, mutate: mutateBytes, run, typed });

const TPM = [MarshalError];

export const TARGETS: readonly Target[] = [
  bytes('frame', [AcsError], () => {
    const frames = files(`${ACS_WIRE_DIR}raw/`, '.frame').map((f) => readFileSync(f));
    // Two frames in one stream, as a client that pipelines would send them.
    return [...frames, Buffer.concat([frames[0], frames[1]])];
  }, runFrames),
  {
    name: 'message-request', typed: [AcsError], mutate: mutateJson, run: (b) => parseRequest(decodePayload(b)),
    corpus: () => [...wireText('request'), readFileSync(`${ACS_WIRE_DIR}errors/malformed-json-request.txt`)],
  },
  { name: 'message-response', typed: [AcsError], mutate: mutateJson, run: runResponse, corpus: () => wireText('response') },
  bytes('tpm-public', [MarshalError, KeyError], () => [akPublic(), ...EK_TEMPLATES.map((t) => marshalPublic(t.template))], runPublic),
  bytes('tpm-public2b', TPM, () => [unmarshalPublic(akPublic()), ...EK_TEMPLATES.map((t) => t.template)].map(marshalPublic2b), unmarshalPublic2b),
  bytes('tpm-attest', TPM, () => wireHex('quoted'), runAttest),
  bytes('tpm-signature', TPM, () => wireHex('signature'), unmarshalSignature),
  bytes('tpm-pcr-selection', TPM, () => [
    ...wireHex('pcrselect'),
    ...parseable(wireHex('quoted'), (q) => marshalPcrSelection(quoteInfo(unmarshalAttest(q))?.pcrSelect ?? [])),
  ], (b) => selectionOrder(unmarshalPcrSelection(b))),
  bytes('tpm2b-id-object', TPM, () => wireHex('credentialblob'), unmarshalIdObject),
  bytes('tpm2b-encrypted-secret', TPM, () => wireHex('secret'), unmarshalEncryptedSecret),
  { name: 'quote-verify', typed: [MarshalError], ...quoteVerifier() },
  bytes('eventlog-firmware', [EventLogError, ReplayError], firmwareLogs, runFirmwareLog),
  {
    name: 'eventlog-firmware-wire', typed: [EventLogError, ReplayError], mutate: mutateRecords, run: runFirmwareWire,
    corpus: () => [
      encodeRecords(wireEvents(quoteRequestFull(), 'event')),
      ...parsedFirmwareLogs().map((log) => encodeRecords(encodeFirmwareWireEvents(log))),
    ],
  },
  bytes('eventlog-event-data', [], () => parsedFirmwareLogs().flatMap((log) => log.events.map(encodeEventData)), runEventData),
  bytes('eventlog-ima-binary', [EventLogError], () => files(`${EVENTLOG_DIR}ima/`, '.bin').map((f) => readFileSync(f)), runImaBinary),
  bytes('eventlog-ima-stream', [EventLogError], () => files(`${EVENTLOG_DIR}ima/`, '.bin').map((f) => readFileSync(f)), runImaStream),
];

/**
 * The target table of `module` (the file URL of a module exporting TARGETS,
 * as the harness self-test does), by default this one.
 */
export async function loadTargets(module?: string): Promise<readonly Target[]> {
  return module === undefined ? TARGETS : ((await import(module)) as { TARGETS: readonly Target[] }).TARGETS;
}

export async function findTarget(name: string, module?: string): Promise<Target> {
  const targets = await loadTargets(module);
  const t = targets.find((x) => x.name === name);
  if (!t) throw new Error(`unknown fuzz target "${name}" (known: ${targets.map((x) => x.name).join(', ')})`);
  return t;
}

/** Seeds over 64 KiB are picked an eighth as often, so big logs do not dominate the time. */
function pickSeed(rng: Rng, corpus: readonly Buffer[]): Buffer {
  const first = rng.pick(corpus);
  return first.length > 64 * 1024 && !rng.chance(1 / 8) ? rng.pick(corpus) : first;
}

/** Input number n of a run: a pure function of the target, its corpus, the seed and n. */
export function generateInput(target: Target, corpus: readonly Buffer[], rng: Rng): Buffer {
  return target.mutate(rng, pickSeed(rng, corpus), corpus);
}
