/**
 * Seeded PRNG and the mutators the fuzzer applies to fixture bytes. Every
 * input is a pure function of (seed, target, input number), so a finding is
 * reproduced by its seed and number as well as by its saved bytes.
 *
 * Three input shapes: raw bytes (TPM structures, logs, frames), JSON text
 * (protocol messages, mutated member by member before any byte damage), and
 * record lists (one buffer per wire event, framed by encodeRecords).
 */

/** FNV-1a, 32 bits: a stable number for a target name or an input. */
export function fnv1a(data: string | Uint8Array): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

/** sfc32, seeded through splitmix32 from any number of 32-bit words. */
export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 1;

  constructor(...words: number[]) {
    let s = 0x9e3779b9;
    const mix = (w: number): number => {
      s = (s + 0x9e3779b9 + (w >>> 0)) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    for (const w of words) this.a ^= mix(w);
    this.b = mix(this.a);
    this.c = mix(this.b);
    this.d = mix(this.c) | 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Integer in [0, n); 0 when n <= 0. */
  below(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 0x100000000) * n);
  }

  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

/** The PRNG of input number n of a target: independent of every other input. */
export function inputRng(seed: number, target: string, n: number): Rng {
  return new Rng(seed, fnv1a(target), n, Math.floor(n / 0x100000000));
}

// ---------------------------------------------------------------- bytes

type ByteMutator = (rng: Rng, b: Buffer, corpus: readonly Buffer[]) => Buffer;

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

const flipBits: ByteMutator = (rng, b) => {
  if (b.length === 0) return b;
  const out = Buffer.from(b);
  for (let i = 1 + rng.below(4); i > 0; i--) out[rng.below(out.length)] ^= 1 << rng.below(8);
  return out;
};

const setBytes: ByteMutator = (rng, b) => {
  if (b.length === 0) return b;
  const out = Buffer.from(b);
  for (let i = 1 + rng.below(4); i > 0; i--) {
    out[rng.below(out.length)] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.below(256);
  }
  return out;
};

const insertBytes: ByteMutator = (rng, b) => {
  const at = rng.below(b.length + 1);
  const n = 1 + rng.below(rng.chance(0.1) ? 4096 : 16);
  const fill = rng.chance(0.5) ? rng.bytes(n) : Buffer.alloc(n, rng.pick(INTERESTING_BYTES));
  return Buffer.concat([b.subarray(0, at), fill, b.subarray(at)]);
};

const deleteRange: ByteMutator = (rng, b) => {
  if (b.length === 0) return b;
  const at = rng.below(b.length);
  const n = 1 + rng.below(Math.min(b.length - at, rng.chance(0.2) ? b.length : 16));
  return Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
};

const duplicateRange: ByteMutator = (rng, b) => {
  if (b.length === 0) return b;
  const from = rng.below(b.length);
  const n = 1 + rng.below(Math.min(b.length - from, 256));
  const at = rng.below(b.length + 1);
  return Buffer.concat([b.subarray(0, at), b.subarray(from, from + n), b.subarray(at)]);
};

const truncate: ByteMutator = (rng, b) => b.subarray(0, rng.below(b.length));

/** Head of this input, tail of another seed. */
const splice: ByteMutator = (rng, b, corpus) => {
  const other = corpus.length > 0 ? rng.pick(corpus) : b;
  return Buffer.concat([b.subarray(0, rng.below(b.length + 1)), other.subarray(rng.below(other.length + 1))]);
};

function readField(b: Buffer, at: number, width: 2 | 4, le: boolean): number {
  if (width === 2) return le ? b.readUInt16LE(at) : b.readUInt16BE(at);
  return le ? b.readUInt32LE(at) : b.readUInt32BE(at);
}

/**
 * An offset whose field could be a length (non-zero, no more than the bytes
 * after it), found by sampling; a random offset when none turns up.
 */
function lengthFieldOffset(rng: Rng, b: Buffer, width: 2 | 4, le: boolean): number {
  const span = b.length - width + 1;
  for (let i = 0; i < 32; i++) {
    const at = rng.below(span);
    const v = readField(b, at, width, le);
    if (v > 0 && v <= b.length - at - width) return at;
  }
  return rng.below(span);
}

/** A 2- or 4-byte big- or little-endian length set to 0, max, half max, off by one, or the input size. */
const corruptLength: ByteMutator = (rng, b) => {
  const width = rng.chance(0.5) ? 4 : 2;
  if (b.length < width) return b;
  const le = rng.chance(0.5);
  const at = lengthFieldOffset(rng, b, width, le);
  const max = width === 4 ? 0xffffffff : 0xffff;
  const cur = readField(b, at, width, le);
  const candidates = [0, max, max >>> 1, (max >>> 1) + 1, cur + 1, cur - 1, b.length, b.length - at - width + 1];
  const value = rng.pick(candidates) & max;
  const out = Buffer.from(b);
  if (width === 2) {
    if (le) out.writeUInt16LE(value, at);
    else out.writeUInt16BE(value, at);
  } else if (le) out.writeUInt32LE(value >>> 0, at);
  else out.writeUInt32BE(value >>> 0, at);
  return out;
};

const BYTE_MUTATORS: readonly ByteMutator[] = [
  flipBits, setBytes, insertBytes, deleteRange, duplicateRange, truncate, splice, corruptLength, corruptLength,
];

/** One to four stacked byte mutations of `seed`; `corpus` feeds splicing. */
export function mutateBytes(rng: Rng, seed: Buffer, corpus: readonly Buffer[]): Buffer {
  let out = seed;
  for (let i = 1 + rng.below(4); i > 0; i--) out = rng.pick(BYTE_MUTATORS)(rng, out, corpus);
  return out;
}

// ---------------------------------------------------------------- JSON

type JsonObject = Record<string, unknown>;
type JsonMutator = (rng: Rng, obj: JsonObject, corpus: readonly JsonObject[]) => void;

const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/** Sets an own member, even "__proto__", the way JSON.parse would. */
function put(obj: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function randomKey(rng: Rng, obj: JsonObject): string | undefined {
  const keys = Object.keys(obj);
  return keys.length === 0 ? undefined : rng.pick(keys);
}

const WRONG_TYPES: readonly (() => unknown)[] = [
  () => 0, () => -1, () => 1e308, () => 1083, () => true, () => false, () => null,
  () => [], () => ['00'], () => ({}), () => ({ hex: '00' }), () => '',
];

/** Sizes around the limits: 255/256 text, 64 KiB PEM, 1 MiB events (2 MiB of hex), rarely past it. */
function hugeLength(rng: Rng): number {
  if (rng.chance(0.02)) return 2 * 1024 * 1024 + 2;
  return rng.pick([255, 256, 257, 4096, 65536, 65537, 131072]);
}

/** Hex that is wrong in one way: odd length, bad digit, prefix, case, stray characters. */
function oddHex(rng: Rng, text: string): string {
  const at = rng.below(text.length + 1);
  switch (rng.below(9)) {
    case 0: return text.slice(0, -1);
    case 1: return `${text}0`;
    case 2: return `${text.slice(0, at)}${rng.pick(['g', 'G', 'z', ' ', '-', '\u00e9', '\u0000', '\ud800', '0x'])}${text.slice(at)}`;
    case 3: return `0x${text}`;
    case 4: return text.toUpperCase();
    case 5: return '';
    case 6: return ` ${text} `;
    case 7: return `${text.slice(0, at)}\u0660\u0661${text.slice(at)}`;
    default: return text.slice(0, at & ~1);
  }
}

const ODD_KEYS = [
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'command', 'response', 'error', 'message',
  'hostname', 'quoted', 'signature', 'templatehashalg', 'intermediatecert', 'nonce', 'pcrselect', 'biosentry',
  'imaentry', 'event', 'event0', 'event00', 'event1', 'event27', 'event1023', 'event1024', 'event99999999999',
  'imaevent', 'imaevent0', 'imaevent01', 'imaevent1083', 'imaevent4294967295', 'imaevent4294967296', 'imaevent-1',
];

const ODD_COMMANDS = [
  'enrollrequest', 'enrollcert', 'nonce', 'quote', 'Quote', '', 'quote\u0000', 'nonce ', 'x'.repeat(1000), '__proto__',
];

const JSON_MUTATORS: readonly JsonMutator[] = [
  function dropMember(rng, obj) {
    const key = randomKey(rng, obj);
    if (key !== undefined) delete obj[key];
  },
  function wrongType(rng, obj) {
    const key = randomKey(rng, obj);
    if (key !== undefined) put(obj, key, rng.pick(WRONG_TYPES)());
  },
  function hugeString(rng, obj) {
    const key = randomKey(rng, obj);
    if (key !== undefined) put(obj, key, (rng.chance(0.5) ? 'ab' : 'A').repeat(hugeLength(rng)));
  },
  function badHex(rng, obj) {
    const key = randomKey(rng, obj);
    const value = key === undefined ? undefined : obj[key];
    if (typeof value === 'string') put(obj, key!, oddHex(rng, value));
  },
  function damageHexBytes(rng, obj) {
    const key = randomKey(rng, obj);
    const value = key === undefined ? undefined : obj[key];
    if (typeof value === 'string' && HEX.test(value)) {
      put(obj, key!, mutateBytes(rng, Buffer.from(value, 'hex'), []).toString('hex'));
    }
  },
  function oddMember(rng, obj, corpus) {
    const donor = rng.pick(corpus);
    const donorKey = randomKey(rng, donor);
    const value = donorKey !== undefined && rng.chance(0.7) ? donor[donorKey] : rng.pick(WRONG_TYPES)();
    put(obj, rng.pick(ODD_KEYS), value);
  },
  function graftMember(rng, obj, corpus) {
    const donor = rng.pick(corpus);
    const key = randomKey(rng, donor);
    if (key !== undefined) put(obj, key, donor[key]);
  },
  function oddCommand(rng, obj) {
    put(obj, Object.hasOwn(obj, 'response') ? 'response' : 'command', rng.pick(ODD_COMMANDS));
  },
];

const parsedSeeds = new WeakMap<Buffer, JsonObject | null>();

function parseSeed(seed: Buffer): JsonObject | null {
  let obj = parsedSeeds.get(seed);
  if (obj === undefined) {
    try {
      const v: unknown = JSON.parse(seed.toString('utf8'));
      obj = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : null;
    } catch {
      obj = null;
    }
    parsedSeeds.set(seed, obj);
  }
  return obj;
}

/**
 * Member-level mutations of a JSON object seed (drop, wrong type, huge
 * string, bad hex, damaged hex bytes, odd or grafted members), then now and
 * then byte damage to the text itself. Seeds that are not JSON objects get
 * byte mutations only.
 */
export function mutateJson(rng: Rng, seed: Buffer, corpus: readonly Buffer[]): Buffer {
  const parsed = parseSeed(seed);
  if (parsed === null) return mutateBytes(rng, seed, corpus);
  const donors = [parsed, ...corpus.map(parseSeed).filter((o): o is JsonObject => o !== null)];
  const obj: JsonObject = {};
  for (const key of Object.keys(parsed)) put(obj, key, parsed[key]);
  for (let i = 1 + rng.below(3); i > 0; i--) rng.pick(JSON_MUTATORS)(rng, obj, donors);
  let text = JSON.stringify(obj);
  if (rng.chance(0.05)) {
    // A repeated member: JSON.parse keeps the last one, IBM's json-c reader the first.
    const key = randomKey(rng, obj) ?? 'command';
    text = `{${JSON.stringify(key)}:${JSON.stringify(rng.pick(WRONG_TYPES)())},${text.slice(1)}`;
  }
  const out = Buffer.from(text, 'utf8');
  return rng.chance(0.1) ? mutateBytes(rng, out, corpus) : out;
}

// ---------------------------------------------------------------- record lists

/** Records framed as UINT32 big-endian length + bytes, so a list fits one input file. */
export function encodeRecords(records: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of records) {
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(r.length);
    parts.push(len, Buffer.from(r.buffer, r.byteOffset, r.byteLength));
  }
  return Buffer.concat(parts);
}

/** Inverse of encodeRecords; a length past the end takes what is left (inputs are ours, not the target's). */
export function decodeRecords(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off + 4 <= b.length;) {
    const n = Math.min(b.readUInt32BE(off), b.length - off - 4);
    out.push(b.subarray(off + 4, off + 4 + n));
    off += 4 + n;
  }
  return out;
}

const decodedSeeds = new WeakMap<Buffer, Buffer[]>();

function recordsOf(seed: Buffer): Buffer[] {
  let records = decodedSeeds.get(seed);
  if (records === undefined) decodedSeeds.set(seed, (records = decodeRecords(seed)));
  return records;
}

/**
 * Mutations of a record list: damage the bytes of one to three records
 * (the first one, which sets the format, more often), or drop, repeat, swap,
 * cut or graft whole records.
 */
export function mutateRecords(rng: Rng, seed: Buffer, corpus: readonly Buffer[]): Buffer {
  const records = [...recordsOf(seed)];
  for (let i = 1 + rng.below(3); i > 0; i--) {
    const at = rng.chance(0.2) ? 0 : rng.below(records.length);
    const op = records.length === 0 ? 4 : rng.below(8);
    if (op === 0) records.splice(at, 1);
    else if (op === 1) records.splice(at, 0, records[at]);
    else if (op === 2) {
      const other = rng.below(records.length);
      [records[at], records[other]] = [records[other], records[at]];
    } else if (op === 3) records.length = rng.below(records.length + 1);
    else if (op === 4) {
      const donor = corpus.length > 0 ? recordsOf(rng.pick(corpus)) : [];
      if (donor.length > 0) records.splice(at, 0, rng.pick(donor));
    } else records[at] = mutateBytes(rng, records[at], records);
  }
  return encodeRecords(records);
}

// ---------------------------------------------------------------- text lines

/**
 * Edits of one line of a space-separated text log: drop, repeat or swap a
 * column, damage its hex, borrow a column from another line; then now and
 * then byte damage.
 */
export function mutateText(rng: Rng, seed: Buffer, corpus: readonly Buffer[]): Buffer {
  const lines = seed.toString('utf8').split('\n');
  const donor = rng.pick(corpus).toString('utf8').split(' ');
  for (let i = 1 + rng.below(3); i > 0; i--) {
    const at = rng.below(lines.length);
    const op = rng.below(6);
    if (op === 5) {
      lines.splice(at, 0, lines[rng.below(lines.length)]);
      continue;
    }
    const cols = lines[at].split(' ');
    const c = rng.below(cols.length);
    if (op === 0) cols.splice(c, 1);
    else if (op === 1) cols.splice(c, 0, cols[c]);
    else if (op === 2) [cols[c], cols[0]] = [cols[0], cols[c]];
    else if (op === 3) cols[c] = oddHex(rng, cols[c]);
    else cols[c] = rng.pick(donor);
    lines[at] = cols.join(' ');
  }
  const out = Buffer.from(lines.join('\n'), 'utf8');
  return rng.chance(0.3) ? mutateBytes(rng, out, corpus) : out;
}
