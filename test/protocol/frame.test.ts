import t from 'tap';
import { readFileSync } from 'node:fs';
import { ACS_ERROR, AcsError } from '../../shared/protocol/errors.js';
import {
  DEFAULT_MAX_FRAME_BYTES, FrameDecoder, FrameTooLargeError, decodePayload, encodeFrame,
} from '../../shared/protocol/frame.js';
import { ACS_WIRE_DIR, loadWireFixtures } from '../helpers/acs-wire.js';

const fixtures = loadWireFixtures();

/** Deterministic PRNG so chunk boundaries are reproducible. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

function decodeAll(chunks: Buffer[], maxBytes?: number): Buffer[] {
  const decoder = new FrameDecoder(maxBytes);
  const out: Buffer[] = [];
  for (const c of chunks) decoder.push(c, (p) => out.push(p));
  if (decoder.pendingBytes !== 0) throw new Error(`${decoder.pendingBytes} bytes left over`);
  return out;
}

function split(buf: Buffer, sizes: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < buf.length;) {
    const n = Math.max(1, Math.min(buf.length - o, sizes()));
    out.push(buf.subarray(o, o + n));
    o += n;
  }
  return out;
}

t.test('fixture set is complete', async (t) => {
  t.equal(fixtures.length, 46);
  t.ok(fixtures.some((f) => f.name === 'quote-request-full' && f.frame.length === 552906));
});

t.test('every IBM frame: declared length counts the trailing NUL', async (t) => {
  for (const f of fixtures) {
    t.equal(f.frame.readUInt32BE(0), f.frame.length - 4, `${f.name} length`);
    t.equal(f.frame[f.frame.length - 1], 0, `${f.name} ends in NUL`);
  }
});

t.test('every IBM frame decodes to its .json, whole, byte by byte and in random chunks', async (t) => {
  const rand = prng(0xac5);
  for (const f of fixtures) {
    const whole = decodeAll([f.frame]);
    t.equal(whole.length, 1, `${f.name}: one frame`);
    t.same(decodePayload(whole[0]), f.json, `${f.name} whole`);

    const bytewise = decodeAll(split(f.frame, () => 1));
    t.same(decodePayload(bytewise[0]), f.json, `${f.name} byte by byte`);

    const random = decodeAll(split(f.frame, () => 1 + Math.floor(rand() * 3000)));
    t.same(decodePayload(random[0]), f.json, `${f.name} random chunks`);
  }
});

t.test('our encoder: same framing as IBM, decodes to the same object', async (t) => {
  for (const f of fixtures) {
    const ours = encodeFrame(f.json);
    t.equal(ours.readUInt32BE(0), ours.length - 4, `${f.name} length counts the NUL`);
    t.equal(ours[ours.length - 1], 0, `${f.name} trailing NUL`);
    const [payload] = decodeAll([ours]);
    t.same(decodePayload(payload), f.json, `${f.name} round trip`);
  }
  // A string is framed verbatim: IBM's exact JSON text gives IBM's exact bytes.
  const ibm = fixtures.find((f) => f.name === 'nonce-request')!;
  const text = ibm.frame.subarray(4, ibm.frame.length - 1).toString('utf8');
  t.same(encodeFrame(text), ibm.frame, 'byte-identical to the captured frame');
});

t.test('payload without the trailing NUL is accepted; two NULs are not JSON', async (t) => {
  const body = Buffer.from('{"command":"nonce"}');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  const [bare] = decodeAll([Buffer.concat([header, body])]);
  t.same(decodePayload(bare), { command: 'nonce' });

  const twoNul = Buffer.concat([body, Buffer.from([0, 0])]);
  header.writeUInt32BE(twoNul.length);
  const [p] = decodeAll([Buffer.concat([header, twoNul])]);
  t.throws(() => decodePayload(p), { code: ACS_ERROR.BAD_JSON });
});

t.test('non-ASCII UTF-8 survives; invalid UTF-8, arrays and scalars are BAD_JSON', async (t) => {
  const obj = { command: 'nonce', hostname: 'hôte-测试-🙂' };
  const [p] = decodeAll([encodeFrame(obj)]);
  t.same(decodePayload(p), obj);
  t.throws(() => decodePayload(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d])), { code: ACS_ERROR.BAD_JSON });
  for (const text of ['[1,2]', '"x"', '42', 'null', '', '{"a":']) {
    t.throws(() => decodePayload(Buffer.from(text)), AcsError, `${JSON.stringify(text)} refused`);
  }
});

t.test('IBM malformed JSON request is BAD_JSON (IBM answered 90000027)', async (t) => {
  const text = readFileSync(`${ACS_WIRE_DIR}errors/malformed-json-request.txt`);
  const [p] = decodeAll([encodeFrame(text.toString('utf8'))]);
  const err = t.throws(() => decodePayload(p)) as AcsError;
  const ibm = fixtures.find((f) => f.name === 'malformed-json-response')!;
  t.equal(err.code, parseInt(ibm.json.error as string, 16));
});

t.test('several frames in one chunk, and a frame split across chunks', async (t) => {
  const a = encodeFrame({ command: 'a' });
  const b = encodeFrame({ command: 'b' });
  const both = Buffer.concat([a, b, a]);
  const out = decodeAll([both.subarray(0, 7), both.subarray(7, a.length + 3), both.subarray(a.length + 3)]);
  t.same(out.map((p) => decodePayload(p).command), ['a', 'b', 'a']);
});

t.test('a declared length over the limit is refused at the header, before any body', async (t) => {
  const decoder = new FrameDecoder(1024);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(1025);
  let emitted = 0;
  const err = t.throws(() => decoder.push(header, () => emitted++)) as FrameTooLargeError;
  t.type(err, FrameTooLargeError);
  t.equal(err.code, ACS_ERROR.PACKET_LENGTH);
  t.equal(err.declaredBytes, 1025);
  t.equal(err.maxBytes, 1024);
  t.equal(decoder.pendingBytes, 0, 'nothing kept');
  t.equal(emitted, 0);

  // IBM's 552 kB quote against a 1 KiB limit: refused on its first 4 bytes.
  const quote = fixtures.find((f) => f.name === 'quote-request-full')!.frame;
  const small = new FrameDecoder(1024);
  small.push(quote.subarray(0, 3), () => emitted++);
  t.throws(() => small.push(quote.subarray(3, 4), () => emitted++), FrameTooLargeError);

  // Exactly at the limit is accepted.
  const atLimit = new FrameDecoder(1024);
  const body = Buffer.alloc(1024, 0x20);
  body[0] = 0x7b;
  body[1022] = 0x7d;
  const frame = Buffer.concat([Buffer.alloc(4), body]);
  frame.writeUInt32BE(1024);
  atLimit.push(frame, (p) => {
    emitted++;
    t.same(decodePayload(p), {});
  });
  t.equal(emitted, 1);
  t.equal(new FrameDecoder().maxBytes, DEFAULT_MAX_FRAME_BYTES);
  t.equal(DEFAULT_MAX_FRAME_BYTES, 16 * 1024 * 1024);
});

t.test('a 4 GiB declared length costs nothing', async (t) => {
  const decoder = new FrameDecoder();
  const err = t.throws(() => decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7b]), () => {})) as FrameTooLargeError;
  t.equal(err.declaredBytes, 0xffffffff);
  t.equal(decoder.pendingBytes, 0);
});

t.test('memory held while a frame arrives never exceeds the bytes received for it', async (t) => {
  const frame = fixtures.find((f) => f.name === 'quote-request-full')!.frame;
  const decoder = new FrameDecoder();
  let peak = 0;
  let frames = 0;
  for (const c of split(frame, () => 4096)) {
    decoder.push(c, () => frames++);
    peak = Math.max(peak, decoder.pendingBytes);
  }
  t.equal(frames, 1);
  t.ok(peak < frame.length, `peak ${peak}`);
  t.equal(decoder.pendingBytes, 0);
});

t.test('zero-length frame yields an empty payload, which is BAD_JSON', async (t) => {
  const [p] = decodeAll([Buffer.alloc(4)]);
  t.equal(p.length, 0);
  t.throws(() => decodePayload(p), { code: ACS_ERROR.BAD_JSON });
});
