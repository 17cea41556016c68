/**
 * A TPM reached through a transport: marshals a command, sends it, and
 * turns a non-zero response code into a TpmError naming the command.
 * The command functions in commands/ are built on `execute`.
 */
import { MarshalError } from '../../shared/tpm/buffer.js';
import { commandName, marshalCommand, unmarshalResponse, type CommandSpec, type Response } from './command.js';
import { TpmError } from './response-code.js';
import { openTransport, type TpmTransport } from './transport.js';

/** A response the client could not parse: the TPM (or something posing as one) sent bad bytes. */
export class TpmResponseError extends Error {
  override name = 'TpmResponseError';
  constructor(readonly command: string, message: string, options?: { cause?: unknown }) {
    super(`${command}: malformed response: ${message}`, options);
  }
}

/**
 * Warnings after which the same command may simply be sent again (Part 2
 * §6.6.3): the TPM did not start it (RETRY, YIELDED) or is still running its
 * self tests (TESTING). Warnings leave sessions and objects unchanged.
 */
const RETRYABLE = new Set([0x922, 0x908, 0x90a]);
const MAX_RETRIES = 10;

export class Tpm {
  constructor(readonly transport: TpmTransport) {}

  static async open(tcti?: string, opts?: { timeoutMs?: number }): Promise<Tpm> {
    return new Tpm(await openTransport(tcti, opts));
  }

  /**
   * Runs one command. `responseHandles` is how many handles the command
   * returns (Part 3); `parse` reads the response parameters.
   */
  async execute<T>(spec: CommandSpec & { responseHandles?: number }, parse: (r: Response) => T): Promise<T> {
    const name = commandName(spec.cc);
    const command = marshalCommand(spec);
    let res: Response;
    for (let attempt = 0; ; attempt++) {
      const raw = await this.transport.send(command);
      try {
        res = unmarshalResponse(raw, spec.responseHandles ?? 0);
      } catch (err) {
        throw new TpmResponseError(name, (err as Error).message, { cause: err });
      }
      if (!RETRYABLE.has(res.rc) || attempt === MAX_RETRIES) break;
      await new Promise((r) => setTimeout(r, 10 * (attempt + 1)));
    }
    if (res.rc !== 0) throw new TpmError(res.rc, name);
    try {
      return parse(res);
    } catch (err) {
      if (err instanceof MarshalError || err instanceof RangeError) {
        throw new TpmResponseError(name, err.message, { cause: err });
      }
      throw err;
    }
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
