/**
 * One attested machine of the benchmark fleet: a software TPM, its boot logs,
 * and the IBM ACS client protocol over real TCP — enrollrequest /
 * ActivateCredential / enrollcert, then nonce / TPM2_Quote / quote with the
 * firmware log on a new boot and the IMA entries the server has not seen.
 */
import { performance } from 'node:perf_hooks';
import { exchange, exchangeFrame } from '../../client/exchange.js';
import { quoteRequestFrame } from '../../shared/protocol/quote.js';
import { parseResponse, serializeRequest, type Command, type Request, type ResponseMap } from '../../shared/protocol/messages.js';
import { encodeFirmwareWireEvents } from '../../shared/eventlog/firmware/wire.js';
import { hashAlgId } from '../../shared/tpm/constants.js';
import { unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import { measureFirmware, syntheticFirmwareLog } from './firmware-log.js';
import { SyntheticImaLog, type ImaLogProfile } from './ima-log.js';
import type { SoftwareTpm } from '../../client/simulator/software-tpm.js';

/** Where the server listens; the benchmark only ever talks to 127.0.0.1. */
export interface Endpoint {
  host: '127.0.0.1';
  port: number;
}

export interface AttestTiming {
  /** Client-observed milliseconds of each request. */
  nonceMs: number;
  quoteMs: number;
  /** What the quote carried. */
  firmwareEvents: number;
  imaEvents: number;
  /** Size of the quote request's JSON text. */
  quoteBytes?: number;
}

const BOOT_EPOCH = Date.UTC(2025, 0, 1);

function boottimeText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

async function call<C extends Command>(ep: Endpoint, req: Request & { command: C }): Promise<ResponseMap[C]> {
  const res = await exchange(ep.host, ep.port, serializeRequest(req), { readTimeoutMs: 120_000 });
  return parseResponse(req.command as C, res);
}

export class BenchHost {
  private boots = 0;
  private boottime = '';
  private firmwareWire: Buffer[] = [];
  private ima!: SyntheticImaLog;

  constructor(
    readonly hostname: string,
    readonly tpm: SoftwareTpm,
    private readonly firmwareVariant: number,
    private readonly imaProfile: ImaLogProfile,
  ) {}

  /** Entries in this boot's IMA log so far. */
  get imaLength(): number {
    return this.ima.length;
  }

  /**
   * Power-cycles the machine: the TPM resets, firmware measures the boot,
   * IMA logs boot_aggregate and then `imaFiles` files. A new boot time tells
   * the server to ask for full logs.
   */
  reboot(imaFiles: number): void {
    this.boots++;
    this.tpm.powerCycle();
    const log = syntheticFirmwareLog(this.firmwareVariant);
    measureFirmware(this.tpm.pcrs, log);
    this.firmwareWire = encodeFirmwareWireEvents(log);
    this.boottime = boottimeText(BOOT_EPOCH + this.firmwareVariant * 7_000 + this.boots * 60_000);
    this.ima = new SyntheticImaLog(this.imaProfile, this.tpm.pcrs, `${this.hostname}.${this.boots}`);
    this.ima.measureBootAggregate();
    this.ima.measureFiles(imaFiles);
  }

  /** The running system measures more files. */
  measureFiles(count: number): void {
    this.ima.measureFiles(count);
  }

  /** Enrollment: prove the AK shares a TPM with the certified EK, receive the AK certificate. */
  async enroll(ep: Endpoint): Promise<{ requestMs: number; certMs: number }> {
    const t0 = performance.now();
    const made = await call(ep, {
      command: 'enrollrequest',
      hostname: this.hostname,
      tpmvendor: 'SW  ',
      ekcert: this.tpm.ekCert,
      akpub: this.tpm.akPub,
    });
    const t1 = performance.now();
    const challenge = this.tpm.activateCredential(made.credentialblob, made.secret);
    const t2 = performance.now();
    await call(ep, { command: 'enrollcert', hostname: this.hostname, challenge });
    return { requestMs: t1 - t0, certMs: performance.now() - t2 };
  }

  /** One attestation: nonce, quote over the PCRs the server selected, the logs it asked for. */
  async attest(ep: Endpoint, measureQuoteSize = false): Promise<AttestTiming> {
    const t0 = performance.now();
    const issued = await call(ep, { command: 'nonce', hostname: this.hostname, userid: 'bench', boottime: this.boottime });
    const t1 = performance.now();
    this.ima.dropBefore(issued.imaentry);
    const { quoted, signature } = this.tpm.quote(issued.nonce, unmarshalPcrSelection(issued.pcrselect));
    const events = issued.biosentry === 0 ? this.firmwareWire : [];
    const imaevents = this.ima.wireFrom(issued.imaentry);
    const req = {
      command: 'quote' as const,
      hostname: this.hostname,
      quoted,
      signature,
      templatehashalg: hashAlgId(this.imaProfile.templateHashAlg),
      events,
      imaevents,
      ...(imaevents.length > 0 ? { imaentry: issued.imaentry } : {}),
    };
    const frame = quoteRequestFrame(req);
    const quoteBytes = measureQuoteSize ? frame.reduce((n, b) => n + b.length, 0) : undefined;
    const t2 = performance.now();
    parseResponse('quote', await exchangeFrame(ep.host, ep.port, frame, { readTimeoutMs: 120_000 }));
    return { nonceMs: t1 - t0, quoteMs: performance.now() - t2, firmwareEvents: events.length, imaEvents: imaevents.length, quoteBytes };
  }
}
