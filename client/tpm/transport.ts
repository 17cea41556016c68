/**
 * How command bytes reach a TPM, chosen by a TCTI-style string as in
 * tpm2-tools: `device:/dev/tpmrm0`, `swtpm:HOST:PORT`, `mssim:HOST:PORT`.
 */
import { DeviceTransport } from './device.js';
import { MssimTransport } from './mssim.js';
import { SwtpmTransport } from './swtpm.js';
import { TpmTransportError } from './transport-error.js';

export { TpmTransportError } from './transport-error.js';

export interface TpmTransport {
  /** Sends one complete command and resolves with the complete response. */
  send(command: Buffer): Promise<Buffer>;
  close(): Promise<void>;
}

export const DEFAULT_TCTI = 'device:/dev/tpmrm0';

/** Generous: key generation on a slow hardware TPM takes tens of seconds. */
export const DEFAULT_TIMEOUT_MS = 60_000;

export type Tcti =
  | { kind: 'device'; path: string }
  | { kind: 'swtpm' | 'mssim'; host: string; port: number };

export function parseTcti(tcti: string): Tcti {
  const colon = tcti.indexOf(':');
  const kind = colon < 0 ? tcti : tcti.slice(0, colon);
  const rest = colon < 0 ? '' : tcti.slice(colon + 1);
  if (kind === 'device') {
    if (!rest.startsWith('/')) throw new TpmTransportError('device TCTI needs an absolute path, e.g. device:/dev/tpmrm0', tcti);
    return { kind, path: rest };
  }
  if (kind === 'swtpm' || kind === 'mssim') {
    // HOST:PORT, HOST may be an IPv6 literal in brackets: [::1]:2321
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(rest);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 0xfffe) {
      throw new TpmTransportError(`${kind} TCTI needs HOST:PORT with PORT 1-65534, e.g. ${kind}:127.0.0.1:2321`, tcti);
    }
    return { kind, host: m[1] ?? m[2], port };
  }
  throw new TpmTransportError(`unknown TCTI "${kind}": use device:PATH, swtpm:HOST:PORT or mssim:HOST:PORT`, tcti);
}

export async function openTransport(
  tcti: string = DEFAULT_TCTI,
  opts: { timeoutMs?: number } = {},
): Promise<TpmTransport> {
  const spec = parseTcti(tcti);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  switch (spec.kind) {
    case 'device':
      return DeviceTransport.open(spec.path, tcti, timeoutMs);
    case 'swtpm':
      return SwtpmTransport.open(spec.host, spec.port, tcti, timeoutMs);
    case 'mssim':
      return MssimTransport.open(spec.host, spec.port, tcti, timeoutMs);
  }
}
