/**
 * The Linux TPM character device (/dev/tpmrm0, the kernel's resource
 * manager, or /dev/tpm0): one write() of a whole command, then one read()
 * returns the whole response.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { HEADER_SIZE, MAX_RESPONSE_SIZE } from './command.js';
import { TpmTransportError } from './transport-error.js';
import type { TpmTransport } from './transport.js';

export class DeviceTransport implements TpmTransport {
  private queue: Promise<unknown> = Promise.resolve();
  private failure?: Error;

  private constructor(private readonly fh: FileHandle, private readonly tcti: string, private readonly timeoutMs: number) {}

  static async open(path: string, tcti: string, timeoutMs: number): Promise<DeviceTransport> {
    try {
      return new DeviceTransport(await open(path, 'r+'), tcti, timeoutMs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      const hint = code === 'ENOENT' ? ' (no TPM device: is the tpm_crb/tpm_tis module loaded?)'
        : code === 'EACCES' ? ' (permission denied: run as root or a member of the tss group)'
        : '';
      throw new TpmTransportError(`cannot open ${path}: ${(err as Error).message}${hint}`, tcti, { cause: err });
    }
  }

  send(command: Buffer): Promise<Buffer> {
    const run = this.queue.then(() => this.exchange(command));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async exchange(command: Buffer): Promise<Buffer> {
    if (this.failure) throw this.failure;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TpmTransportError(`no TPM response within ${this.timeoutMs} ms`, this.tcti)), this.timeoutMs);
    });
    try {
      return await Promise.race([this.writeRead(command), deadline]);
    } catch (err) {
      // A late reply would be read as the answer to the next command: give up on this handle.
      this.failure = err instanceof TpmTransportError ? err
        : new TpmTransportError(`TPM device I/O failed: ${(err as Error).message}`, this.tcti, { cause: err });
      await this.fh.close().catch(() => undefined);
      throw this.failure;
    } finally {
      clearTimeout(timer);
    }
  }

  private async writeRead(command: Buffer): Promise<Buffer> {
    await this.fh.write(command, 0, command.length);
    const buf = Buffer.alloc(MAX_RESPONSE_SIZE);
    const { bytesRead } = await this.fh.read(buf, 0, buf.length, null);
    if (bytesRead < HEADER_SIZE || buf.readUInt32BE(2) !== bytesRead) {
      throw new TpmTransportError(`short or malformed TPM response (${bytesRead} bytes)`, this.tcti);
    }
    return buf.subarray(0, bytesRead);
  }

  async close(): Promise<void> {
    if (!this.failure) {
      this.failure = new TpmTransportError('device closed', this.tcti);
      await this.fh.close();
    }
  }
}
