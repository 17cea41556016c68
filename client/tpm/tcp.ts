/**
 * A TCP connection to a TPM simulator that reads replies of an exact size,
 * with a deadline on every read. After a timeout or a short read the byte
 * stream can no longer be trusted to be aligned on replies, so the channel
 * is closed and every later call fails with the first error.
 */
import net from 'node:net';
import { TpmTransportError } from './transport-error.js';

export class TcpChannel {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter?: { n: number; resolve(b: Buffer): void; reject(e: Error): void };
  private failure?: Error;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly socket: net.Socket, readonly tcti: string) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.deliver();
    });
    socket.on('error', (err) => this.fail(new TpmTransportError(`connection error: ${err.message}`, tcti, { cause: err })));
    socket.on('close', () => this.fail(new TpmTransportError('connection closed by the TPM', tcti)));
  }

  static connect(host: string, port: number, tcti: string, timeoutMs: number): Promise<TcpChannel> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TpmTransportError(`no connection to ${host}:${port} within ${timeoutMs} ms`, tcti));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new TpmTransportError(`cannot connect to ${host}:${port}: ${err.message}`, tcti, { cause: err }));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new TcpChannel(socket, tcti));
      });
    });
  }

  /** Runs exchanges one at a time: a TPM connection carries one command at a time. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  write(buf: Buffer): void {
    if (this.failure) throw this.failure;
    this.socket.write(buf);
  }

  /** Resolves with exactly `n` bytes, or fails after `timeoutMs`. */
  read(n: number, timeoutMs: number, what: string): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new TpmTransportError(`no ${what} within ${timeoutMs} ms`, this.tcti));
      }, timeoutMs);
      this.waiter = {
        n,
        resolve: (b) => (clearTimeout(timer), resolve(b)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.deliver();
    });
  }

  close(): Promise<void> {
    this.fail(new TpmTransportError('connection closed', this.tcti));
    if (this.socket.closed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  private deliver(): void {
    const w = this.waiter;
    if (!w || this.buffered < w.n) return;
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const out = Buffer.from(all.subarray(0, w.n));
    const rest = all.subarray(w.n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    this.waiter = undefined;
    w.resolve(out);
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    this.socket.destroy();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }
}
