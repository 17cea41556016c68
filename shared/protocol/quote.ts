/**
 * `quote` messages (PROTOCOL.md "Attestation"): the TPMS_ATTEST and
 * TPMT_SIGNATURE from TPM2_Quote (TPM 2.0 Part 3 §18.4), plus log events as
 * numbered members: `event0..eventK` (firmware log from its first record) and
 * `imaeventN..` (IMA log from absolute index N). The members are collected in
 * one pass over the object's keys, so a quote with 100k events costs linear
 * time, and the count and size caps are checked before anything is decoded.
 */
import { ACS_ERROR, AcsError } from './errors.js';
import { frameParts, type JsonObject } from './frame.js';
import { hexMember, hexValue, hostnameMember, optionalStringMember, toHex } from './fields.js';

export interface QuoteRequest {
  command: 'quote';
  hostname: string;
  /** TPMS_ATTEST as the TPM returned it, without the TPM2B size. */
  quoted: Buffer;
  /** Marshaled TPMT_SIGNATURE. */
  signature: Buffer;
  /** TPM_ALG_ID of the IMA template hashes; undefined when absent (IBM: SHA-1). */
  templatehashalg?: number;
  /** Firmware events event0..eventK, big-endian re-marshaled as IBM's client sends them. */
  events: Buffer[];
  /** IMA events; imaevents[i] is the event with absolute index imaentry + i. */
  imaevents: Buffer[];
  /** Absolute index of imaevents[0]; undefined when no IMA events were sent. */
  imaentry?: number;
}

export type QuoteResponse = Record<never, never>;

export interface EventLimits {
  /** Most firmware events in one quote. */
  maxEvents: number;
  /** Most IMA events in one quote. */
  maxImaEvents: number;
  /** Largest single event, in bytes (decoded). */
  maxEventBytes: number;
}

/**
 * Real firmware logs hold tens to a few hundred records; 16 MiB of frame holds
 * under 100k IMA events; the largest firmware events (dbx, db variables) are
 * tens of KiB.
 */
export const DEFAULT_EVENT_LIMITS: EventLimits = {
  maxEvents: 1024,
  maxImaEvents: 100_000,
  maxEventBytes: 1024 * 1024,
};

const FIRMWARE_PREFIX = 'event';
const IMA_PREFIX = 'imaevent';
const MAX_IMA_INDEX = 0xffffffff;

/** Index of a numbered member, or -1 when the key is not `prefix` + a canonical decimal. */
function memberIndex(key: string, prefix: string): number {
  if (!key.startsWith(prefix) || key.length === prefix.length || key.length > prefix.length + 10) return -1;
  const digits = key.slice(prefix.length);
  if (digits.length > 1 && digits[0] === '0') return -1;
  for (let i = 0; i < digits.length; i++) {
    const c = digits.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
  }
  return Number(digits);
}

function eventValue(obj: JsonObject, key: string, limits: EventLimits): Buffer {
  const value = obj[key];
  if (typeof value !== 'string') throw new AcsError(ACS_ERROR.BAD_VALUE, `member "${key}" is not a string`);
  if (value.length > 2 * limits.maxEventBytes) {
    throw new AcsError(ACS_ERROR.EVENT_TOO_LARGE, `member "${key}" is over ${limits.maxEventBytes} bytes`);
  }
  return hexValue(key, value);
}

interface CollectedEvents {
  events: Buffer[];
  imaevents: Buffer[];
  imaentry?: number;
}

function collectEvents(obj: JsonObject, limits: EventLimits): CollectedEvents {
  const firmwareKeys: string[] = [];
  const imaKeys: string[] = [];
  const imaIndexes: number[] = [];
  let firmwareMax = -1;
  let imaMin = Infinity;
  let imaMax = -1;
  for (const key of Object.keys(obj)) {
    if (key.charCodeAt(0) === 0x65 /* e */) {
      const index = memberIndex(key, FIRMWARE_PREFIX);
      if (index < 0) continue;
      if (index >= limits.maxEvents) {
        throw new AcsError(ACS_ERROR.TOO_MANY_EVENTS, `"${key}": at most ${limits.maxEvents} firmware events are accepted`);
      }
      firmwareKeys[index] = key;
      if (index > firmwareMax) firmwareMax = index;
    } else if (key.charCodeAt(0) === 0x69 /* i */) {
      const index = memberIndex(key, IMA_PREFIX);
      if (index < 0) continue;
      if (index > MAX_IMA_INDEX) throw new AcsError(ACS_ERROR.BAD_VALUE, `"${key}": IMA index out of range`);
      if (imaKeys.length >= limits.maxImaEvents) {
        throw new AcsError(ACS_ERROR.TOO_MANY_EVENTS, `at most ${limits.maxImaEvents} IMA events are accepted`);
      }
      imaKeys.push(key);
      imaIndexes.push(index);
      if (index < imaMin) imaMin = index;
      if (index > imaMax) imaMax = index;
    }
  }

  // Firmware events must be event0..eventK with no gap: a missing record breaks the replay.
  const events: Buffer[] = new Array(firmwareMax + 1);
  for (let i = 0; i <= firmwareMax; i++) {
    const key = firmwareKeys[i];
    if (key === undefined) throw new AcsError(ACS_ERROR.EVENT_SEQUENCE, `"event${i}" missing before "event${firmwareMax}"`);
    events[i] = eventValue(obj, key, limits);
  }

  if (imaKeys.length === 0) return { events, imaevents: [] };
  // Keys are unique and canonical, so count == span means the indexes are contiguous.
  if (imaMax - imaMin + 1 !== imaKeys.length) {
    throw new AcsError(ACS_ERROR.EVENT_SEQUENCE,
      `imaevent members from ${imaMin} to ${imaMax} are not contiguous (${imaKeys.length} present)`);
  }
  const imaevents: Buffer[] = new Array(imaKeys.length);
  for (let i = 0; i < imaKeys.length; i++) {
    imaevents[imaIndexes[i] - imaMin] = eventValue(obj, imaKeys[i], limits);
  }
  return { events, imaevents, imaentry: imaMin };
}

export function parseQuoteRequest(obj: JsonObject, limits: EventLimits = DEFAULT_EVENT_LIMITS): QuoteRequest {
  const hostname = hostnameMember(obj);
  const quoted = hexMember(obj, 'quoted');
  const signature = hexMember(obj, 'signature');
  const algText = optionalStringMember(obj, 'templatehashalg');
  let templatehashalg: number | undefined;
  if (algText !== undefined) {
    const alg = hexValue('templatehashalg', algText);
    if (alg.length !== 2) throw new AcsError(ACS_ERROR.BAD_VALUE, 'member "templatehashalg" must be 4 hex digits (TPM_ALG_ID)');
    templatehashalg = alg.readUInt16BE(0);
  }
  const { events, imaevents, imaentry } = collectEvents(obj, limits);
  const req: QuoteRequest = { command: 'quote', hostname, quoted, signature, events, imaevents };
  if (templatehashalg !== undefined) req.templatehashalg = templatehashalg;
  if (imaentry !== undefined) req.imaentry = imaentry;
  return req;
}

/** Joined text is flushed into a chunk of its own past this many characters. */
const CHUNK_CHARS = 1 << 20;

/**
 * The quote request serializer, the only one: members in IBM's order
 * (command, hostname, quoted, signature, event0…, templatehashalg,
 * imaevent<N>…) and in the layout of IBM's client (json-c pretty print: one
 * member per line, indented two spaces), so the frame of the same values is
 * the IBM client's byte for byte. Events are appended as the logs are read
 * and the text is kept in chunks of about 1 MiB, so a log of any length
 * never becomes one string.
 */
export class QuoteRequestWriter {
  private readonly chunks: string[] = [];
  private current = '{\n  "command":"quote"';
  /** 0: firmware events may follow; 1: templatehashalg written; 2: IMA events written. */
  private stage = 0;
  firmwareEvents = 0;
  imaEvents = 0;

  constructor(hostname: string, quoted: Uint8Array, signature: Uint8Array) {
    this.member('hostname', JSON.stringify(hostname));
    this.member('quoted', `"${toHex(quoted)}"`);
    this.member('signature', `"${toHex(signature)}"`);
  }

  private member(key: string, json: string): void {
    this.current += `,\n  "${key}":${json}`;
    if (this.current.length >= CHUNK_CHARS) {
      this.chunks.push(this.current);
      this.current = '';
    }
  }

  private enter(stage: number, what: string): void {
    if (this.stage > stage) throw new RangeError(`${what} after a later member of the quote request`);
    this.stage = stage;
  }

  /** The next firmware event (event0 is the log's first record), as sent on the wire. */
  firmwareEvent(wire: Uint8Array): void {
    this.enter(0, 'a firmware event');
    this.member(`${FIRMWARE_PREFIX}${this.firmwareEvents++}`, `"${toHex(wire)}"`);
  }

  /** TPM_ALG_ID of the IMA template hashes. */
  templateHashAlg(alg: number): void {
    if (this.stage >= 1) throw new RangeError('templatehashalg twice or after an IMA event');
    this.stage = 1;
    this.member('templatehashalg', `"${alg.toString(16).padStart(4, '0')}"`);
  }

  /** The IMA event with absolute index `index` (the server refuses gaps; tests send them on purpose). */
  imaEvent(index: number, wire: Uint8Array): void {
    this.enter(2, 'an IMA event');
    this.imaEvents++;
    this.member(`${IMA_PREFIX}${index}`, `"${toHex(wire)}"`);
  }

  /** The JSON text, in chunks; the request is complete. */
  text(): string[] {
    return [...this.chunks, `${this.current}\n}`];
  }
}

/** The writer of a whole request. */
export function quoteRequestWriter(req: QuoteRequest): QuoteRequestWriter {
  const w = new QuoteRequestWriter(req.hostname, req.quoted, req.signature);
  for (const event of req.events) w.firmwareEvent(event);
  if (req.templatehashalg !== undefined) w.templateHashAlg(req.templatehashalg);
  if (req.imaevents.length > 0 && req.imaentry === undefined) throw new RangeError('quote request with IMA events needs imaentry');
  req.imaevents.forEach((event, i) => w.imaEvent(req.imaentry! + i, event));
  return w;
}

/** The request as one frame's buffers: length header, the writer's text, trailing NUL. */
export function quoteRequestFrame(req: QuoteRequest): Buffer[] {
  return frameParts(quoteRequestWriter(req).text());
}

/** The request as a JSON object (for the generic message table): the writer's text, read back. */
export function serializeQuoteRequest(req: QuoteRequest): JsonObject {
  return JSON.parse(quoteRequestWriter(req).text().join('')) as JsonObject;
}

export function parseQuoteResponse(_obj: JsonObject): QuoteResponse {
  return {};
}

export function serializeQuoteResponse(_res: QuoteResponse): JsonObject {
  return { response: 'quote' };
}
