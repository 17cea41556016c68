import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ACS_ERROR, AcsError } from '../shared/protocol/errors.js';
import type { ServerEndpoint } from './server-address.js';
import { frameParts } from '../shared/protocol/frame.js';
import { exchange, exchangeFrame, type ExchangeOptions } from './exchange.js';
import { parseResponse, serializeRequest, type NonceResponse } from '../shared/protocol/messages.js';
import { QuoteRequestWriter } from '../shared/protocol/quote.js';
import { unmarshalPcrSelection } from '../shared/tpm/pcr-selection.js';
import { hashAlgId, type HashAlg } from '../shared/tpm/constants.js';
import { parseFirmwareLog } from '../shared/eventlog/firmware/event.js';
import { encodeFirmwareWireEvents } from '../shared/eventlog/firmware/wire.js';
import { readImaLogFile } from '../shared/eventlog/ima/stream.js';
import { encodeImaWireEvent } from '../shared/eventlog/ima/wire.js';
import { openAttestationTpm } from './attestation-tpm.js';
import { hostnameToSend } from './identity.js';
import { UsageError } from './exit-codes.js';
import { loadEnrollment } from './state-dir.js';

export const DEFAULT_BIOS_LOG = '/sys/kernel/security/tpm0/binary_bios_measurements';
export const DEFAULT_IMA_LOG = '/sys/kernel/security/ima/binary_runtime_measurements';

export interface AttestOptions {
  server: ServerEndpoint;
  tcti: string;
  stateDir: string;
  /** Default: the hostname the machine enrolled as. */
  hostname?: string;
  userid: string;
  bootTime: string;
  biosLog: string;
  imaLog: string;
  /** Template-hash algorithm of the IMA log file (sha1 for binary_runtime_measurements). */
  imaHashAlg: HashAlg;
  timeoutMs?: number;
  /** Called as IMA events are encoded, and with `sending` once the request goes to the server, for a progress display. */
  progress?: (imaEvents: number, sending: boolean) => void;
  logger?: Logger;
}

export interface AttestResult {
  hostname: string;
  newBoot: boolean;
  firmwareEvents: number;
  imaEntry: number;
  imaEvents: number;
  retried: boolean;
  /** Milliseconds of the last try: nonce exchange, TPM quote, reading the logs, sending and the server's verdict. */
  timings: { nonceMs: number; quoteMs: number; logsMs: number; verdictMs: number };
}

/**
 * One attestation: nonce, TPM2_Quote over the server's selection with the
 * nonce as qualifyingData (TPM 2.0 Part 3 §18.4), then the quote with only the
 * logs the server asked for. The quote is taken before the IMA log is read,
 * so the log sent covers at least every event the quote does. A TPM reset the
 * server saw in the quote (90000020 on an incremental attestation) is retried
 * once with full logs.
 */
export async function attest(opts: AttestOptions): Promise<AttestResult> {
  try {
    return await attestOnce(opts, false);
  } catch (e) {
    if (e instanceof RetryWithFullLogs) return attestOnce(opts, true);
    throw e;
  }
}

class RetryWithFullLogs extends Error {}

async function attestOnce(opts: AttestOptions, retried: boolean): Promise<AttestResult> {
  const enrollment = await loadEnrollment(opts.stateDir);
  const hostname = hostnameToSend(opts.hostname ?? enrollment.hostname);
  const xo: ExchangeOptions = { connectTimeoutMs: opts.timeoutMs, readTimeoutMs: opts.timeoutMs, tls: opts.server.tls };
  const lap = stopwatch();
  const nonce: NonceResponse = parseResponse(
    'nonce',
    await exchange(opts.server.host, opts.server.port, serializeRequest({ command: 'nonce', hostname, userid: opts.userid, boottime: opts.bootTime }), xo),
  );
  const nonceMs = lap();

  const tpm = await openAttestationTpm(opts.tcti, { timeoutMs: opts.timeoutMs, logger: opts.logger });
  let q;
  try {
    q = await tpm.quote(enrollment.blobs, nonce.nonce, unmarshalPcrSelection(nonce.pcrselect));
  } finally {
    await tpm.close();
  }
  const quoteMs = lap();

  const req = new QuoteRequestWriter(hostname, q.quoted, q.signature);
  if (nonce.biosentry === 0) {
    let log;
    try {
      log = parseFirmwareLog(await readFile(opts.biosLog));
    } catch (e) {
      throw new UsageError(`firmware event log ${opts.biosLog}: ${(e as Error).message}`, { cause: e });
    }
    for (const ev of encodeFirmwareWireEvents(log)) req.firmwareEvent(ev);
  }
  req.templateHashAlg(hashAlgId(opts.imaHashAlg));
  if (nonce.imaentry >= 0) await appendImaEvents(req, opts, nonce.imaentry);
  const logsMs = lap();
  opts.progress?.(req.imaEvents, true);

  try {
    parseResponse('quote', await exchangeFrame(opts.server.host, opts.server.port, frameParts(req.text()), xo));
  } catch (e) {
    if (!retried && nonce.biosentry !== 0 && e instanceof AcsError && e.code === ACS_ERROR.EVENT) throw new RetryWithFullLogs();
    throw e;
  }
  opts.logger?.info({ hostname, newBoot: nonce.biosentry === 0, imaEntry: nonce.imaentry, imaEvents: req.imaEvents }, 'attested');
  const timings = { nonceMs, quoteMs, logsMs, verdictMs: lap() };
  return { hostname, newBoot: nonce.biosentry === 0, firmwareEvents: req.firmwareEvents, imaEntry: nonce.imaentry, imaEvents: req.imaEvents, retried, timings };
}

/** Streams the IMA log once, sending the events from `from` on (a host without IMA sends none). */
async function appendImaEvents(req: QuoteRequestWriter, opts: AttestOptions, from: number): Promise<void> {
  try {
    await access(opts.imaLog, constants.R_OK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new UsageError(`IMA log ${opts.imaLog}: ${(e as Error).message}`, { cause: e });
  }
  for await (const ev of readImaLogFile(opts.imaLog, { templateHashAlg: opts.imaHashAlg })) {
    if (ev.index < from) continue;
    req.imaEvent(ev.index, encodeImaWireEvent(ev, opts.imaHashAlg));
    if (opts.progress && req.imaEvents % 1000 === 0) opts.progress(req.imaEvents, false);
  }
}

/** Milliseconds since the previous call (or since creation). */
function stopwatch(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const ms = Math.round(now - last);
    last = now;
    return ms;
  };
}
