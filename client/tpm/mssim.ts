/**
 * The Microsoft/IBM TPM 2.0 simulator protocol (the reference simulator's
 * TcpServer.c, also spoken by tpm2-tss's mssim TCTI):
 *
 *   command port:  TPM_SEND_COMMAND (u32 8) | locality (u8) | size (u32) | command
 *                  reply: size (u32) | response | trailer (u32, 0)
 *   platform port (command port + 1): a u32 signal, reply u32 0.
 *
 * All integers big-endian.
 */
import { HEADER_SIZE, MAX_RESPONSE_SIZE } from './command.js';
import { TcpChannel } from './tcp.js';
import { TpmTransportError } from './transport-error.js';
import type { TpmTransport } from './transport.js';

export const MSSIM = {
  SIGNAL_POWER_ON: 1,
  SIGNAL_POWER_OFF: 2,
  SEND_COMMAND: 8,
  SIGNAL_NV_ON: 11,
  SESSION_END: 20,
} as const;

export class MssimTransport implements TpmTransport {
  private constructor(
    private readonly channel: TcpChannel,
    private readonly timeoutMs: number,
    private readonly locality: number,
  ) {}

  static async open(host: string, port: number, tcti: string, timeoutMs: number, locality = 0): Promise<MssimTransport> {
    return new MssimTransport(await TcpChannel.connect(host, port, tcti, Math.min(timeoutMs, 10_000)), timeoutMs, locality);
  }

  send(command: Buffer): Promise<Buffer> {
    return this.channel.exclusive(async () => {
      const head = Buffer.alloc(9);
      head.writeUInt32BE(MSSIM.SEND_COMMAND, 0);
      head.writeUInt8(this.locality, 4);
      head.writeUInt32BE(command.length, 5);
      this.channel.write(Buffer.concat([head, command]));
      const size = (await this.channel.read(4, this.timeoutMs, 'simulator reply size')).readUInt32BE(0);
      if (size < HEADER_SIZE || size > MAX_RESPONSE_SIZE) {
        await this.channel.close();
        throw new TpmTransportError(`simulator reply size ${size} out of range`, this.channel.tcti);
      }
      const response = await this.channel.read(size, this.timeoutMs, 'simulator reply');
      const trailer = (await this.channel.read(4, this.timeoutMs, 'simulator reply trailer')).readUInt32BE(0);
      if (trailer !== 0) {
        await this.channel.close();
        throw new TpmTransportError(`simulator reply trailer 0x${trailer.toString(16)}`, this.channel.tcti);
      }
      return response;
    });
  }

  /** Tells the simulator this client is done (TPM_SESSION_END), then closes. */
  async close(): Promise<void> {
    try {
      const end = Buffer.alloc(4);
      end.writeUInt32BE(MSSIM.SESSION_END);
      this.channel.write(end);
    } catch {
      // already closed: nothing to tell the simulator
    }
    await this.channel.close();
  }
}

/** Sends platform signals (e.g. power on, then NV on) on the platform port. */
export async function mssimPlatformSignals(host: string, platformPort: number, signals: readonly number[]): Promise<void> {
  const tcti = `mssim-platform:${host}:${platformPort}`;
  const channel = await TcpChannel.connect(host, platformPort, tcti, 5000);
  try {
    for (const signal of signals) {
      const req = Buffer.alloc(4);
      req.writeUInt32BE(signal);
      channel.write(req);
      const result = (await channel.read(4, 10_000, `platform signal ${signal} result`)).readUInt32BE(0);
      if (result !== 0) throw new TpmTransportError(`platform signal ${signal} returned ${result}`, tcti);
    }
  } finally {
    await channel.close();
  }
}

/** Power on and NV on: what a simulator needs before TPM2_Startup. */
export function mssimPowerOn(host: string, platformPort: number): Promise<void> {
  return mssimPlatformSignals(host, platformPort, [MSSIM.SIGNAL_POWER_ON, MSSIM.SIGNAL_NV_ON]);
}
