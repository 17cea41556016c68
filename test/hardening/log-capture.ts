/**
 * A server's pino output captured as parsed JSON lines: from an in-process
 * logger (a destination stream) or from a child process's stderr. Tests
 * assert the one log line every refusal must leave, and grep the raw text.
 */
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';

export type LogLine = Record<string, unknown>;

export class LogCapture {
  readonly lines: LogLine[] = [];
  /** Everything written, as text (JSON lines and anything else). */
  text = '';
  private partial = '';

  /** A logger writing into this capture. */
  logger(level = 'info'): Logger {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.push(chunk);
        done();
      },
    });
    return pino({ level }, sink);
  }

  push(chunk: Buffer | string): void {
    const s = chunk.toString();
    this.text += s;
    const parts = (this.partial + s).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      if (!line.startsWith('{')) continue;
      try {
        this.lines.push(JSON.parse(line) as LogLine);
      } catch {
        // A line that is not JSON stays in `text` only.
      }
    }
  }

  /** The listener's one summary line per connection. */
  requests(): LogLine[] {
    return this.lines.filter((l) => l.msg === 'request');
  }

  /** Waits for a line matching `match`, polling; rejects after timeoutMs. */
  async waitFor(match: (l: LogLine) => boolean, timeoutMs = 5000): Promise<LogLine> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (Date.now() > until) throw new Error(`no log line matched within ${timeoutMs} ms`);
      await sleep(10);
    }
  }
}
