import { hash } from 'node:crypto';
import { Readable } from 'node:stream';
import t from 'tap';
import { EventLogError } from '../../shared/eventlog/errors.js';
import { parseImaBinaryLog, type ImaEvent } from '../../shared/eventlog/ima/event.js';
import { ImaReplayer } from '../../shared/eventlog/ima/replay.js';
import { ImaLogReader, readImaLogFile } from '../../shared/eventlog/ima/stream.js';
import { decodeImaTemplate } from '../../shared/eventlog/ima/template.js';
import { extendPcr } from '../../shared/eventlog/pcr-values.js';
import { fixture, fixturePath, imaFile } from './fixtures.js';

const CHUNK = 64 * 1024;

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** One ima-ng record for a made-up file, as the kernel writes it. */
function record(i: number): Buffer {
  const digest = hash('sha256', `file ${i}`, 'buffer');
  const dng = Buffer.concat([Buffer.from('sha256:\0', 'latin1'), digest]);
  const name = Buffer.from(`/usr/lib/synthetic/file-${i}\0`, 'latin1');
  const data = Buffer.concat([u32le(dng.length), dng, u32le(name.length), name]);
  const tname = Buffer.from('ima-ng', 'latin1');
  return Buffer.concat([u32le(10), hash('sha1', data, 'buffer'), u32le(tname.length), tname, u32le(data.length), data]);
}

/**
 * A log of `n` records produced lazily in CHUNK-sized pieces that cut records
 * anywhere, so neither the source nor the reader ever holds the whole log.
 * `expected` receives the SHA-1 PCR 10 the records extend.
 */
function syntheticLog(n: number, expected: { pcr: Buffer; bytes: number }): Readable {
  return Readable.from((function* () {
    let pending: Buffer[] = [];
    let size = 0;
    for (let i = 0; i < n; i++) {
      const r = record(i);
      expected.pcr = extendPcr('sha1', expected.pcr, r.subarray(4, 24));
      expected.bytes += r.length;
      pending.push(r);
      size += r.length;
      if (size >= CHUNK) {
        const all = Buffer.concat(pending);
        yield all.subarray(0, CHUNK);
        pending = [all.subarray(CHUNK)];
        size = all.length - CHUNK;
      }
    }
    if (size > 0) yield Buffer.concat(pending);
  })());
}

t.test('a 100k-event log streams through a bounded buffer', async (t) => {
  const expected = { pcr: Buffer.alloc(20), bytes: 0 };
  const reader = new ImaLogReader(syntheticLog(100_000, expected));
  const replayer = new ImaReplayer({ templateHashAlg: 'sha1', banks: ['sha1'] });
  let bad = 0;
  let last: ImaEvent | null = null;
  for await (const ev of reader) {
    if (replayer.extend(ev) !== 'ok') bad++;
    last = ev;
  }
  t.equal(reader.count, 100_000);
  t.equal(bad, 0, 'every template hash checks out across chunk boundaries');
  t.equal(replayer.pcr('sha1').toString('hex'), expected.pcr.toString('hex'));
  t.equal(decodeImaTemplate(last!).fileName, '/usr/lib/synthetic/file-99999');
  const maxRecord = record(99_999).length;
  t.ok(expected.bytes > 100 * CHUNK, `log is ${expected.bytes} bytes`);
  t.ok(reader.peakBufferedBytes <= CHUNK + maxRecord, `never held more than one chunk and one record (${reader.peakBufferedBytes} bytes)`);
});

t.test('any chunking gives the same events as parsing the whole buffer', async (t) => {
  const bytes = fixture(imaFile('ibmtss_imatest.bin').file);
  const whole = parseImaBinaryLog(bytes);
  const oneByte = Readable.from((function* () {
    for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1);
  })());
  const streamed: ImaEvent[] = [];
  for await (const ev of new ImaLogReader(oneByte)) streamed.push(ev);
  t.same(streamed.map((e) => [e.index, e.templateName, e.templateHash.toString('hex'), e.templateData.toString('hex')]),
    whole.map((e) => [e.index, e.templateName, e.templateHash.toString('hex'), e.templateData.toString('hex')]));
});

t.test('reading a log file', async (t) => {
  const f = imaFile('ibmtss_ima_sha512.bin');
  const reader = readImaLogFile(fixturePath(f.file), { templateHashAlg: 'sha512' });
  const r = new ImaReplayer({ templateHashAlg: 'sha512' });
  for await (const ev of reader) r.extend(ev);
  t.equal(reader.count, f.entries);
  t.equal(r.pcr('sha512').toString('hex'), f.tpm_pcrs_known_good!.pcrs.sha512['10']);
});

t.test('truncated and malformed streams fail with the absolute offset', async (t) => {
  const bytes = fixture(imaFile('acs_imasig.bin').file);
  const whole = parseImaBinaryLog(bytes);
  const offsetOf = (e: ImaEvent) => e.templateHash.byteOffset - bytes.byteOffset - 4;
  const twoChunks = (b: Buffer) => Readable.from([b.subarray(0, 100_000), b.subarray(100_000)]);

  let seen = 0;
  const truncated = t.rejects(async () => {
    for await (const ev of new ImaLogReader(twoChunks(bytes.subarray(0, bytes.length - 10)))) seen = ev.index + 1;
  }, { name: 'EventLogError', eventIndex: 1082, offset: offsetOf(whole[1082]), message: /truncated event/ });
  await truncated;
  t.equal(seen, 1082, 'every complete event before the bad one was delivered');

  // A record in the second chunk whose PCR index is written big-endian.
  const bad = whole.find((e) => offsetOf(e) > 150_000)!;
  const garbage = Buffer.from(bytes);
  garbage.writeUInt32LE(0x0a000000, offsetOf(bad));
  await t.rejects(async () => {
    for await (const ev of new ImaLogReader(twoChunks(garbage))) void ev;
  }, { name: 'EventLogError', offset: offsetOf(bad), eventIndex: bad.index, message: /wrong byte order/ });
  await t.rejects(async () => {
    for await (const ev of new ImaLogReader(Readable.from(['10 abc ima-ng']))) void ev;
  }, EventLogError, 'text is not a binary log');
});
