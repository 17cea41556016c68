/**
 * swtpm's socket interface: the data port carries raw TPM 2.0 command and
 * response bytes (no framing beyond the TPM header's own size field); the
 * control port (by convention data port + 1) takes the control channel
 * commands of swtpm's ioctl protocol, each a 4-byte big-endian command code
 * followed by its input, answered by a 4-byte big-endian result.
 */
import { HEADER_SIZE, MAX_RESPONSE_SIZE } from './command.js';
import { TcpChannel } from './tcp.js';
import { TpmTransportError } from './transport-error.js';
import type { TpmTransport } from './transport.js';

export class SwtpmTransport implements TpmTransport {
  private constructor(private readonly channel: TcpChannel, private readonly timeoutMs: number) {}

  static async open(host: string, port: number, tcti: string, timeoutMs: number): Promise<SwtpmTransport> {
    return new SwtpmTransport(await TcpChannel.connect(host, port, tcti, Math.min(timeoutMs, 10_000)), timeoutMs);
  }

  send(command: Buffer): Promise<Buffer> {
    return this.channel.exclusive(async () => {
      this.channel.write(command);
      return readTpmResponse(this.channel, this.timeoutMs);
    });
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}

/** Reads one response whose length is given by its own header (Part 1 §18.4). */
export async function readTpmResponse(channel: TcpChannel, timeoutMs: number): Promise<Buffer> {
  const header = await channel.read(HEADER_SIZE, timeoutMs, 'TPM response');
  const size = header.readUInt32BE(2);
  if (size < HEADER_SIZE || size > MAX_RESPONSE_SIZE) {
    await channel.close();
    throw new TpmTransportError(`TPM response size ${size} out of range`, channel.tcti);
  }
  if (size === HEADER_SIZE) return header;
  return Buffer.concat([header, await channel.read(size - HEADER_SIZE, timeoutMs, 'TPM response body')]);
}

/** Control channel command codes (swtpm's tpm_ioctl.h, PTM_* / CMD_*). */
export const SWTPM_CTRL = {
  GET_CAPABILITY: 1,
  INIT: 2,
  SHUTDOWN: 3,
  STOP: 14,
} as const;

/** CMD_INIT flag: drop the volatile state saved by a previous run. */
const PTM_INIT_FLAG_DELETE_VOLATILE = 1;

export class SwtpmControlError extends Error {
  override name = 'SwtpmControlError';
  constructor(readonly command: string, readonly result: number) {
    super(`swtpm control ${command} returned 0x${result.toString(16)}`);
  }
}

/** Sends one control command on a fresh connection and returns the 4-byte result. */
async function control(host: string, port: number, command: keyof typeof SWTPM_CTRL, input: Buffer): Promise<void> {
  const tcti = `swtpm-ctrl:${host}:${port}`;
  const channel = await TcpChannel.connect(host, port, tcti, 5000);
  try {
    const req = Buffer.alloc(4 + input.length);
    req.writeUInt32BE(SWTPM_CTRL[command], 0);
    input.copy(req, 4);
    channel.write(req);
    const result = (await channel.read(4, 10_000, `control ${command} result`)).readUInt32BE(0);
    if (result !== 0) throw new SwtpmControlError(command, result);
  } finally {
    await channel.close();
  }
}

/**
 * TPM_Init through the control channel: a power cycle of the simulated TPM.
 * A TPM2_Startup must follow before other commands are accepted.
 */
export function swtpmPowerOn(host: string, ctrlPort: number, deleteVolatile = false): Promise<void> {
  const flags = Buffer.alloc(4);
  flags.writeUInt32BE(deleteVolatile ? PTM_INIT_FLAG_DELETE_VOLATILE : 0);
  return control(host, ctrlPort, 'INIT', flags);
}

/** Stops the TPM without ending the process; swtpmPowerOn starts it again. */
export function swtpmStop(host: string, ctrlPort: number): Promise<void> {
  return control(host, ctrlPort, 'STOP', Buffer.alloc(0));
}

/** Shuts the TPM down and ends the swtpm process. */
export function swtpmShutdown(host: string, ctrlPort: number): Promise<void> {
  return control(host, ctrlPort, 'SHUTDOWN', Buffer.alloc(0));
}
