/**
 * The fuzz targets: every parser that reads bytes from a client, a server or
 * a log, each with its seeds (seeds.ts) and its mutator (mutate.ts). A target
 * ends in a value or in one of its `typed` errors; anything else it throws
 * (a TypeError, a RangeError, a PropertyViolation) is a finding.
 */
import { KeyError, publicKeyFromTpm } from '../../shared/crypto/keys.js';
import { verifyQuoteSignature } from '../../shared/crypto/quote.js';
import { EventLogError, ReplayError } from '../../shared/eventlog/errors.js';
import { describeEventData } from '../../shared/eventlog/firmware/event-data.js';
import { parseFirmwareLog, type FirmwareEvent } from '../../shared/eventlog/firmware/event.js';
import { replayFirmwareLog } from '../../shared/eventlog/firmware/replay.js';
import { decodeFirmwareWireEvents, encodeFirmwareWireEvents } from '../../shared/eventlog/firmware/wire.js';
import { parseImaAsciiLog } from '../../shared/eventlog/ima/ascii.js';
import { parseImaBinaryLog, type ImaEvent, type ImaParseOptions } from '../../shared/eventlog/ima/event.js';
import { ImaReplayer } from '../../shared/eventlog/ima/replay.js';
import { ImaKeyring } from '../../shared/eventlog/ima/signature.js';
import { ImaLogReader } from '../../shared/eventlog/ima/stream.js';
import { decodeImaTemplate, templateHashInput, type ImaTemplateInfo } from '../../shared/eventlog/ima/template.js';
import { decodeImaWireEvent } from '../../shared/eventlog/ima/wire.js';
import { AcsError } from '../../shared/protocol/errors.js';
import { FrameDecoder, decodePayload } from '../../shared/protocol/frame.js';
import { HostnameError, normalizeHostname } from '../../shared/protocol/hostname.js';
import { isCommand, parseRequest, parseResponse } from '../../shared/protocol/messages.js';
import { quoteInfo, unmarshalAttest } from '../../shared/tpm/attest.js';
import { MarshalError } from '../../shared/tpm/buffer.js';
import { EK_TEMPLATES } from '../../shared/tpm/ek-templates.js';
import { objectName } from '../../shared/tpm/name.js';
import { marshalPcrSelection, selectionOrder, unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import { marshalPublic, marshalPublic2b, unmarshalPublic, unmarshalPublic2b } from '../../shared/tpm/public.js';
import { unmarshalSignature } from '../../shared/tpm/signature.js';
import { unmarshalEncryptedSecret, unmarshalIdObject } from '../../shared/tpm/tpm2b.js';
import { Rng, decodeRecords, encodeRecords, fnv1a, mutateBytes, mutateJson, mutateRecords, mutateText } from './mutate.js';
import {
  accepted, akPublic, firmwareLogs, imaAsciiLogs, imaBinaryLogs, imaKeys, imaWireRuns, malformedRequest,
  parsedFirmwareLogs, quoteEvents, wireFrames, wireHex, wireJson, wireText,
} from './seeds.js';

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

/** Built once per process, on first use. */
function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

// ---------------------------------------------------------------- protocol

/** Chunk sizes come from the input's own hash, so a saved input replays the same cuts. */
function chunksOf(input: Buffer): Buffer[] {
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
  const cut = decodeFrames(chunksOf(input));
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

// ---------------------------------------------------------------- TPM structures

function runPublic(input: Buffer): unknown {
  const pub = unmarshalPublic(input);
  objectName(input);
  return publicKeyFromTpm(pub);
}

function runAttest(input: Buffer): unknown {
  const q = quoteInfo(unmarshalAttest(input));
  return q && selectionOrder(q.pcrSelect);
}

/** Quote-verify input: records [quoted, marshaled TPMT_SIGNATURE]; seeds are the quotes the AK really signed. */
const quotes = lazy(() => {
  const ak = unmarshalPublic(akPublic());
  const corpus = accepted(wireJson(), [MarshalError], (o) => {
    const [q, s] = [Buffer.from(String(o.quoted), 'hex'), Buffer.from(String(o.signature), 'hex')];
    return verifyQuoteSignature(ak, q, unmarshalSignature(s)) ? encodeRecords([q, s]) : null;
  }).filter((b): b is Buffer => b !== null);
  return { ak, corpus, genuine: new Set(corpus.map((c) => c.toString('hex'))) };
});

function mutateQuote(rng: Rng, seed: Buffer, corpus: readonly Buffer[]): Buffer {
  const [q, s] = decodeRecords(seed);
  const op = rng.below(4);
  if (op === 3) return encodeRecords([q, decodeRecords(rng.pick(corpus))[1]]);
  return encodeRecords([op !== 1 ? mutateBytes(rng, q, []) : q, op !== 0 ? mutateBytes(rng, s, []) : s]);
}

function runQuoteVerify(input: Buffer): boolean {
  const { ak, genuine } = quotes();
  const [quoted = Buffer.alloc(0), sig = Buffer.alloc(0)] = decodeRecords(input);
  const ok = verifyQuoteSignature(ak, quoted, unmarshalSignature(sig));
  if (ok && !genuine.has(encodeRecords([quoted, sig]).toString('hex'))) {
    throw new PropertyViolation('a quote or signature the TPM did not produce verified');
  }
  return ok;
}

// ---------------------------------------------------------------- firmware log

/** Event-data input: pcrIndex u32 BE | eventType u32 BE | data. */
function encodeEventData(ev: FirmwareEvent): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(ev.pcrIndex >>> 0, 0);
  head.writeUInt32BE(ev.eventType >>> 0, 4);
  return Buffer.concat([head, ev.data]);
}

/** describeEventData promises never to throw, so no error is typed for it. */
function runEventData(input: Buffer): string {
  const head = Buffer.concat([input.subarray(0, 8), Buffer.alloc(Math.max(0, 8 - input.length))]);
  const ev: FirmwareEvent = {
    index: 0, pcrIndex: head.readUInt32BE(0), eventType: head.readUInt32BE(4), digests: [], data: input.subarray(8),
  };
  const text = describeEventData(ev);
  if (typeof text !== 'string') throw new PropertyViolation('describeEventData did not return a string');
  return text;
}

// ---------------------------------------------------------------- IMA log

const IMA_TYPED = [EventLogError];

/** What an IMA signature vouches for: the file digest (with its algorithm) and the signature bytes. */
function signedPair(info: ImaTemplateInfo): string {
  return `${info.fileDigest?.alg}:${info.fileDigest?.digest.toString('hex')}:${info.signature?.toString('hex')}`;
}

/** The fields, the template-hash input and the signature status of one event, as the server judges it. */
function judgeImaEvent(ev: ImaEvent): void {
  templateHashInput(ev);
  settle(IMA_TYPED, () => {
    const info = decodeImaTemplate(ev);
    const { keyring, genuine } = imaSignatures();
    if (keyring.verifyEvent(info) === 'ok' && !genuine.has(signedPair(info))) {
      throw new PropertyViolation('an IMA signature verified over a digest or signature that is not in the log');
    }
  });
}

/** The fixtures' keys, and the (digest, signature) pairs of the fixtures that verify with them. */
const imaSignatures = lazy(() => {
  const keyring = new ImaKeyring(imaKeys());
  const genuine = new Set<string>();
  for (const run of imaWireRuns(Infinity)) {
    for (const [i, bytes] of run.entries()) {
      settle(IMA_TYPED, () => {
        const info = decodeImaTemplate(decodeImaWireEvent(bytes, i));
        if (keyring.verifyEvent(info) === 'ok') genuine.add(signedPair(info));
      });
    }
  }
  return { keyring, genuine };
});

/** Seeds of an IMA target; the keyring is built first, so its cost is not charged to the first input. */
function imaCorpus(seeds: () => Buffer[]): () => Buffer[] {
  return () => {
    imaSignatures();
    return seeds();
  };
}

/** The log does not say its template-hash size or byte order, so every reading the parser offers is tried. */
const IMA_READINGS: readonly ImaParseOptions[] = [
  { templateHashAlg: 'sha1' }, { templateHashAlg: 'sha256' }, { templateHashAlg: 'sha384' },
  { templateHashAlg: 'sha512' }, { templateHashAlg: 'sha1', bigEndian: true },
];

function runImaBinary(input: Buffer): void {
  for (const opts of IMA_READINGS) settle(IMA_TYPED, () => parseImaBinaryLog(input, opts).forEach(judgeImaEvent));
}

/** The streaming reader (SHA-1 template hashes) over chunks cut as the frame target cuts them. */
async function runImaStream(input: Buffer): Promise<number> {
  async function* chunks(): AsyncGenerator<Buffer> {
    yield* chunksOf(input);
  }
  let n = 0;
  for await (const ev of new ImaLogReader(chunks())) n += ev.templateData.length > 0 ? 1 : 0;
  return n;
}

function runImaAscii(input: Buffer): void {
  parseImaAsciiLog(input.toString('utf8')).forEach(judgeImaEvent);
}

/**
 * IMA wire input: records, one `imaevent` value each. Each is read as from a
 * request without templatehashalg (either form) and as from one whose
 * templatehashalg is the algorithm the event names, then judged; the events
 * read the first way are replayed in order, as the server does.
 */
function runImaWire(input: Buffer): void {
  const replayer = new ImaReplayer({ templateHashAlg: 'sha1', banks: ['sha1', 'sha256'] });
  decodeRecords(input).forEach((bytes, i) => {
    settle(IMA_TYPED, () => {
      const ev = decodeImaWireEvent(bytes, i);
      judgeImaEvent(ev);
      if (replayer.nextIndex === i) replayer.extend(ev);
    });
    if (bytes.length >= 6) settle(IMA_TYPED, () => judgeImaEvent(decodeImaWireEvent(bytes, i, bytes.readUInt16BE(4))));
  });
}

/** A hostname is refused, or comes back in a normal form that is its own normal form and holds only LDH characters and dots. */
function runHostname(input: Buffer): void {
  const normal = normalizeHostname(input.toString('utf8'));
  if (!/^[a-z0-9.-]{1,253}$/.test(normal) || normalizeHostname(normal) !== normal) {
    throw new PropertyViolation(`normal form ${JSON.stringify(normal)} is not stable or not LDH`);
  }
}

const HOSTNAME_SEEDS = ['client-rsa.test', 'HostA.Example.', 'xn--bcher-kva.example', 'localhost', `${'a'.repeat(63)}.example`];

// ---------------------------------------------------------------- the table

const bytes = (name: string, typed: readonly ErrorClass[], corpus: () => Buffer[], run: (b: Buffer) => unknown): Target =>
  ({ name, corpus, mutate: mutateBytes, run, typed });

const TPM = [MarshalError];

export const TARGETS: readonly Target[] = [
  // Two frames in one stream, as a client that pipelines would send them.
  bytes('frame', [AcsError], () => [...wireFrames(), Buffer.concat(wireFrames().slice(0, 2))], runFrames),
  {
    name: 'message-request', typed: [AcsError], mutate: mutateJson, run: (b) => parseRequest(decodePayload(b)),
    corpus: () => [...wireText('request'), malformedRequest()],
  },
  { name: 'message-response', typed: [AcsError], mutate: mutateJson, run: runResponse, corpus: () => wireText('response') },
  bytes('hostname', [HostnameError], () => HOSTNAME_SEEDS.map((h) => Buffer.from(h)), runHostname),
  bytes('tpm-public', [MarshalError, KeyError], () => [akPublic(), ...EK_TEMPLATES.map((t) => marshalPublic(t.template))], runPublic),
  bytes('tpm-public2b', TPM, () => [unmarshalPublic(akPublic()), ...EK_TEMPLATES.map((t) => t.template)].map(marshalPublic2b), unmarshalPublic2b),
  bytes('tpm-attest', TPM, () => wireHex('quoted'), runAttest),
  bytes('tpm-signature', TPM, () => wireHex('signature'), unmarshalSignature),
  bytes('tpm-pcr-selection', TPM, () => [
    ...wireHex('pcrselect'),
    ...accepted(wireHex('quoted'), TPM, (q) => marshalPcrSelection(quoteInfo(unmarshalAttest(q))?.pcrSelect ?? [])),
  ], (b) => selectionOrder(unmarshalPcrSelection(b))),
  bytes('tpm2b-id-object', TPM, () => wireHex('credentialblob'), unmarshalIdObject),
  bytes('tpm2b-encrypted-secret', TPM, () => wireHex('secret'), unmarshalEncryptedSecret),
  { name: 'quote-verify', typed: TPM, corpus: () => quotes().corpus, mutate: mutateQuote, run: runQuoteVerify },
  bytes('eventlog-firmware', [EventLogError, ReplayError], firmwareLogs, (b) => replayFirmwareLog(parseFirmwareLog(b))),
  {
    name: 'eventlog-firmware-wire', typed: [EventLogError, ReplayError], mutate: mutateRecords,
    run: (b) => replayFirmwareLog(decodeFirmwareWireEvents(decodeRecords(b))),
    corpus: () => [encodeRecords(quoteEvents('event')), ...parsedFirmwareLogs().map((l) => encodeRecords(encodeFirmwareWireEvents(l)))],
  },
  bytes('eventlog-event-data', [], () => parsedFirmwareLogs().flatMap((log) => log.events.map(encodeEventData)), runEventData),
  bytes('eventlog-ima-binary', IMA_TYPED, imaCorpus(() => imaBinaryLogs(64)), runImaBinary),
  bytes('eventlog-ima-stream', IMA_TYPED, () => imaBinaryLogs(64, 'sha1'), runImaStream),
  { name: 'eventlog-ima-ascii', typed: IMA_TYPED, corpus: imaCorpus(imaAsciiLogs), mutate: mutateText, run: runImaAscii },
  {
    name: 'eventlog-ima-wire', typed: IMA_TYPED, mutate: mutateRecords, run: runImaWire,
    corpus: imaCorpus(() => imaWireRuns(16).map(encodeRecords)),
  },
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
