/**
 * Reads a binary IMA log incrementally from a stream (a file or the
 * securityfs pseudo-file) with a bounded buffer: at any time it holds one
 * input chunk plus the unfinished tail of the previous one, never the log.
 * Events are views into the chunks, which the stream does not reuse.
 */
import { createReadStream } from 'node:fs';
import { BufferReader } from '../../tpm/buffer.js';
import { EventLogError } from '../errors.js';
import { asBuffer, decodeImaRecord, imaRecordFormat, type ImaEvent, type ImaParseOptions } from './event.js';

export class ImaLogReader implements AsyncIterable<ImaEvent> {
  /** Largest number of bytes held at once; lets callers and tests check the memory bound. */
  peakBufferedBytes = 0;
  /** Events read so far. */
  count = 0;

  constructor(
    private readonly source: AsyncIterable<Uint8Array | string>,
    private readonly opts: ImaParseOptions = {},
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<ImaEvent> {
    const f = imaRecordFormat(this.opts);
    let index = this.opts.firstIndex ?? 0;
    let tail: Buffer | null = null;
    let consumed = 0;
    for await (const chunk of this.source) {
      if (typeof chunk === 'string') throw new EventLogError('IMA log stream must be binary, not text');
      const b: Buffer = tail ? Buffer.concat([tail, chunk]) : asBuffer(chunk);
      if (b.length > this.peakBufferedBytes) this.peakBufferedBytes = b.length;
      const r = new BufferReader(b);
      for (;;) {
        let ev: ImaEvent | null;
        try {
          ev = decodeImaRecord(r, f, index);
        } catch (e) {
          if (e instanceof EventLogError && e.offset !== undefined) {
            throw new EventLogError(e.detail, consumed + e.offset, index);
          }
          throw e;
        }
        if (!ev) break;
        index++;
        this.count++;
        yield ev;
      }
      consumed += r.offset;
      tail = r.remaining > 0 ? b.subarray(r.offset) : null;
    }
    if (tail) throw new EventLogError(`truncated event: ${tail.length} bytes left`, consumed, index);
  }
}

/** Streams a binary IMA log file (64 KiB reads). */
export function readImaLogFile(path: string, opts: ImaParseOptions = {}): ImaLogReader {
  return new ImaLogReader(createReadStream(path, { highWaterMark: 64 * 1024 }), opts);
}
