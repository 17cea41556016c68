/**
 * A software-TPM machine whose attestation runs step by step — nonce,
 * TPM2_Quote, quote request, send — so a test can run many clients of one
 * machine at once, take the nonce from one server and send the quote to
 * another, or cut an upload short, and match every outcome to its attestlog
 * row by nonce. Built from the benchmark's software TPM and synthetic logs
 * (test/bench); enrollment is BenchHost's.
 */
import { exchange, exchangeFrame } from '../../client/exchange.js';
import { quoteRequestFrame } from '../../shared/protocol/quote.js';
import { parseResponse, serializeRequest, type NonceResponse, type QuoteRequest } from '../../shared/protocol/messages.js';
import { encodeFirmwareWireEvents } from '../../shared/eventlog/firmware/wire.js';
import { hashAlgId } from '../../shared/tpm/constants.js';
import { unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import { BenchHost, type Endpoint } from '../bench/bench-host.js';
import { measureFirmware, syntheticFirmwareLog } from '../bench/firmware-log.js';
import { SyntheticImaLog, type ImaLogProfile } from '../bench/ima-log.js';
import type { SoftwareEkCa } from '../../client/simulator/software-ek-ca.js';
import { SoftwareTpm, type KeyAlg } from '../../client/simulator/software-tpm.js';
import { SoftwareAk } from '../../client/simulator/software-ak.js';

export type { Endpoint };

export const IMA_PROFILE: ImaLogProfile = { templateHashAlg: 'sha256', template: 'ima-ng', signEvery: 0 };

/** The nonce a server issued, with the hostname it was issued for. */
export interface Issued extends NonceResponse {
  nonceHex: string;
}

/** A TPM2_Quote over the issued selection, and how many IMA events PCR 10 held when it was taken. */
export interface TakenQuote {
  issued: Issued;
  quoted: Buffer;
  signature: Buffer;
  imaCovered: number;
}

export function endpoint(port: number): Endpoint {
  return { host: '127.0.0.1', port };
}

export class SteppedHost {
  tpm: SoftwareTpm;
  readonly ima: SyntheticImaLog;
  readonly boottime: string;
  /** PCR 10 (SHA-256 bank, hex) after n IMA events: pcr10After[n]. */
  readonly pcr10After: string[] = [];
  private readonly firmwareWire: Buffer[];

  constructor(readonly hostname: string, ca: SoftwareEkCa, variant: number, keyAlg: KeyAlg = 'ecc', bootFiles = 4) {
    this.tpm = SoftwareTpm.create({ label: hostname, ca, ekAlg: keyAlg, akAlg: keyAlg });
    this.tpm.powerCycle();
    const log = syntheticFirmwareLog(variant);
    measureFirmware(this.tpm.pcrs, log);
    this.firmwareWire = encodeFirmwareWireEvents(log);
    this.boottime = new Date(Date.UTC(2026, 0, 1) + variant * 1000).toISOString().slice(0, 19).replace('T', ' ');
    this.ima = new SyntheticImaLog(IMA_PROFILE, this.tpm.pcrs, `${hostname}.boot`);
    this.pcr10After.push(this.pcr10());
    this.ima.measureBootAggregate();
    this.pcr10After.push(this.pcr10());
    this.measureFiles(bootFiles);
  }

  private pcr10(): string {
    return this.tpm.pcrs.value('sha256', 10).toString('hex');
  }

  /** Firmware events in a full quote. */
  get firmwareEvents(): number {
    return this.firmwareWire.length;
  }

  /** The running system measures `count` more files (IMA extends PCR 10 for each). */
  measureFiles(count: number): void {
    for (let i = 0; i < count; i++) {
      this.ima.measureFiles(1);
      this.pcr10After.push(this.pcr10());
    }
  }

  /** The machine makes a new AK and keeps its EK, PCRs and logs; it attests with the new AK once enrolled again. */
  renewAk(): void {
    const old = this.tpm;
    this.tpm = new SoftwareTpm(
      { ekPrivate: old.exportEk(), ekCert: old.ekCert, storageKey: old.storageKey, pcrs: old.pcrs, resetCount: old.resetCount, poweredOn: old.poweredOn },
      SoftwareAk.generate(old.akAlg),
    );
  }

  enroll(ep: Endpoint): Promise<unknown> {
    return new BenchHost(this.hostname, this.tpm, 0, IMA_PROFILE).enroll(ep);
  }

  async nonce(ep: Endpoint): Promise<Issued> {
    const res = await exchange(ep.host, ep.port, serializeRequest({ command: 'nonce', hostname: this.hostname, userid: 'hardening', boottime: this.boottime }));
    const issued = parseResponse('nonce', res);
    return { ...issued, nonceHex: issued.nonce.toString('hex') };
  }

  /** TPM2_Quote now, over the PCRs as they are. */
  quote(issued: Issued): TakenQuote {
    const { quoted, signature } = this.tpm.quote(issued.nonce, unmarshalPcrSelection(issued.pcrselect));
    return { issued, quoted, signature, imaCovered: this.ima.length };
  }

  /** The quote request with the logs the nonce asked for: IMA events from imaentry up to `imaUpTo` (default: all measured). */
  request(q: TakenQuote, imaUpTo = this.ima.length): QuoteRequest {
    const from = q.issued.imaentry;
    const imaevents = this.ima.wireFrom(from).slice(0, Math.max(0, imaUpTo - from));
    return {
      command: 'quote',
      hostname: this.hostname,
      quoted: q.quoted,
      signature: q.signature,
      templatehashalg: hashAlgId(IMA_PROFILE.templateHashAlg),
      events: q.issued.biosentry === 0 ? this.firmwareWire : [],
      imaevents,
      ...(imaevents.length > 0 ? { imaentry: from } : {}),
    };
  }

  /** The request as the bytes of one frame. */
  static frame(req: QuoteRequest): Buffer {
    return Buffer.concat(quoteRequestFrame(req));
  }

  /** Sends a quote request; resolves when the server answered {"response":"quote"}. */
  async send(ep: Endpoint, req: QuoteRequest): Promise<void> {
    parseResponse('quote', await exchangeFrame(ep.host, ep.port, [SteppedHost.frame(req)]));
  }

  /** One whole attestation; `quoteTo` lets the quote go to another server than the nonce. */
  async attest(ep: Endpoint, quoteTo: Endpoint = ep): Promise<Issued> {
    const issued = await this.nonce(ep);
    await this.send(quoteTo, this.request(this.quote(issued)));
    return issued;
  }
}

/** `count` machines named prefix-0000…; every `rsaEvery`-th has RSA keys so both signature paths run. */
export function steppedFleet(ca: SoftwareEkCa, prefix: string, count: number, rsaEvery = 20): SteppedHost[] {
  return Array.from({ length: count }, (_, i) =>
    new SteppedHost(`${prefix}-${String(i).padStart(4, '0')}`, ca, i, i % rsaEvery === rsaEvery - 1 ? 'rsa' : 'ecc'));
}
