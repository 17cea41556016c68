/**
 * The byte positions an attacker edits in a quote request, and an IMA log
 * that grows as its TPM measures: what the tamper matrix alters and the
 * genuine evidence it alters it from.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extendLogs } from '../../client/extend.js';
import { iterateImaBinaryLog } from '../../shared/eventlog/ima/event.js';
import { BIOS_LOG, imaWireEvents, writeImaLog } from '../helpers/attested-host.js';

/** A copy of `b` with one bit of byte `at` inverted (negative `at` counts from the end). */
export function flipped(b: Buffer, at: number): Buffer {
  const out = Buffer.from(b);
  out[at < 0 ? out.length + at : at]! ^= 0x01;
  return out;
}

/** A copy of `b` with `bytes` written at `at`. */
export function patched(b: Buffer, at: number, bytes: Buffer): Buffer {
  const out = Buffer.from(b);
  bytes.copy(out, at);
  return out;
}

/**
 * Offsets of the TPMS_ATTEST fields in a quote's `quoted` (TPM 2.0 Part 2
 * §10.12.12): magic u32, type u16, qualifiedSigner and extraData (TPM2B),
 * TPMS_CLOCK_INFO (clock u64, resetCount u32, restartCount u32, safe u8),
 * firmwareVersion u64, then TPMS_QUOTE_INFO (TPML_PCR_SELECTION, pcrDigest).
 */
export interface AttestLayout {
  magic: number;
  type: number;
  qualifiedSigner: number;
  extraData: number;
  clock: number;
  resetCount: number;
  restartCount: number;
  firmwareVersion: number;
  pcrSelect: number;
  pcrDigest: number;
}

export function attestLayout(quoted: Buffer): AttestLayout {
  const signer = 6;
  const extra = signer + 2 + quoted.readUInt16BE(signer);
  const clock = extra + 2 + quoted.readUInt16BE(extra);
  const firmwareVersion = clock + 8 + 4 + 4 + 1;
  const pcrSelect = firmwareVersion + 8;
  let p = pcrSelect + 4;
  for (let n = quoted.readUInt32BE(pcrSelect); n > 0; n--) p += 3 + quoted[p + 2]!;
  return {
    magic: 0,
    type: 4,
    qualifiedSigner: signer,
    extraData: extra,
    clock,
    resetCount: clock + 8,
    restartCount: clock + 12,
    firmwareVersion,
    pcrSelect,
    pcrDigest: p,
  };
}

/** Offsets in a wire IMA event with a SHA-1 template hash (PROTOCOL.md `imaevent<N>`). */
export const IMA_WIRE = { pcrIndex: 0, templateHash: 6, templateHashSize: 20 } as const;

/** The event extended into `pcr` instead. */
export function imaWithPcr(ev: Buffer, pcr: number): Buffer {
  const out = Buffer.from(ev);
  out.writeUInt32BE(pcr, IMA_WIRE.pcrIndex);
  return out;
}

/** The event with its logged template hash replaced. */
export function imaWithTemplateHash(ev: Buffer, hash: Buffer): Buffer {
  return patched(ev, IMA_WIRE.templateHash, hash.subarray(0, IMA_WIRE.templateHashSize));
}

/**
 * A host's IMA log that grows: the TPM extends PCR 10 with the next records
 * of a long source log (acs_imasig.bin repeated) and the log file then holds
 * exactly the measured records, as the kernel's does.
 */
export class GrowingImaLog {
  /** Records measured into the TPM and present in the log file. */
  measured = 0;

  private constructor(
    readonly path: string,
    private readonly source: string,
    private readonly bytes: Buffer,
    /** End offset of each source record. */
    private readonly ends: number[],
  ) {}

  static async create(dir: string, copies: number): Promise<GrowingImaLog> {
    const source = join(dir, 'ima-source.bin');
    await writeImaLog(source, Infinity, copies - 1);
    const bytes = await readFile(source);
    const ends = [...iterateImaBinaryLog(bytes)].map((ev) => ev.templateData.byteOffset - bytes.byteOffset + ev.templateData.length);
    const log = new GrowingImaLog(join(dir, 'ima.bin'), source, bytes, ends);
    await writeFile(log.path, Buffer.alloc(0));
    return log;
  }

  /** The TPM measures `n` more records and the log file gains them. */
  async grow(tcti: string, n: number): Promise<void> {
    if (this.measured + n > this.ends.length) throw new RangeError(`the source log has ${this.ends.length} records`);
    await extendLogs({ tcti, imaLog: this.source, imaFrom: this.measured, imaCount: n });
    this.measured += n;
    await writeFile(this.path, this.bytes.subarray(0, this.ends[this.measured - 1]));
  }

  /** After a TPM reset: the firmware log and every logged IMA record measured again, as on a reboot into the same state. */
  async remeasure(tcti: string): Promise<void> {
    await extendLogs({ tcti, biosLog: BIOS_LOG, imaLog: this.source, imaCount: this.measured });
  }

  /** Wire events of the records [from, measured). */
  events(from: number): Promise<Buffer[]> {
    return imaWireEvents(this.path, from, this.measured);
  }
}
