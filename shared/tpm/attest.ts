/**
 * TPMS_ATTEST (TPM 2.0 Part 2 §10.12.12), the structure a TPM signs in
 * TPM2_Quote and the other attestation commands. TPMS_QUOTE_INFO is decoded;
 * the attested union of other types is kept as raw bytes (it runs to the end
 * of the structure), which is enough to recognise and reject them.
 */
import { BufferReader, BufferWriter, MarshalError } from './buffer.js';
import { TPM_GENERATED_VALUE, TPM_ST } from './constants.js';
import { readPcrSelection, writePcrSelection, type PcrSelection } from './pcr-selection.js';
import { readDigest2b } from './tpm2b.js';
import { marshalWhole, unmarshalWhole } from './whole-structure.js';

/** TPMS_CLOCK_INFO, Part 2 §10.11.1. */
export interface ClockInfo {
  clock: bigint;
  resetCount: number;
  restartCount: number;
  safe: boolean;
}

/** TPMS_QUOTE_INFO, Part 2 §10.12.4. */
export interface QuoteInfo {
  pcrSelect: PcrSelection[];
  pcrDigest: Buffer;
}

export interface TpmAttest {
  /** Always TPM_GENERATED_VALUE: unmarshalAttest rejects anything else. */
  magic: number;
  /** TPMI_ST_ATTEST. */
  type: number;
  qualifiedSigner: Buffer;
  extraData: Buffer;
  clockInfo: ClockInfo;
  firmwareVersion: bigint;
  /** { quote } for TPM_ST_ATTEST_QUOTE, the undecoded TPMU_ATTEST bytes otherwise. */
  attested: { quote: QuoteInfo } | { raw: Buffer };
}

/** sizeof(TPMU_NAME) and sizeof(TPMT_HA): the largest name / TPM2B_DATA. */
const MAX_NAME = 2 + 64;
const MAX_DATA = 2 + 64;

const ATTEST_TYPES = new Set<number>([
  TPM_ST.ATTEST_NV,
  TPM_ST.ATTEST_COMMAND_AUDIT,
  TPM_ST.ATTEST_SESSION_AUDIT,
  TPM_ST.ATTEST_CERTIFY,
  TPM_ST.ATTEST_QUOTE,
  TPM_ST.ATTEST_TIME,
  TPM_ST.ATTEST_CREATION,
]);

export function readAttest(r: BufferReader): TpmAttest {
  const magic = r.u32('TPMS_ATTEST.magic');
  // Part 2 §10.12.12: the TPM puts TPM_GENERATED_VALUE here only in structures it built itself.
  if (magic !== TPM_GENERATED_VALUE) throw new MarshalError(`TPMS_ATTEST.magic 0x${magic.toString(16)} is not TPM_GENERATED_VALUE`);
  const type = r.u16('TPMS_ATTEST.type');
  if (!ATTEST_TYPES.has(type)) throw new MarshalError(`TPMS_ATTEST.type 0x${type.toString(16)} is not an attestation type`);
  const qualifiedSigner = Buffer.from(r.tpm2b('TPMS_ATTEST.qualifiedSigner', MAX_NAME));
  const extraData = Buffer.from(r.tpm2b('TPMS_ATTEST.extraData', MAX_DATA));
  const clock = r.u64('TPMS_CLOCK_INFO.clock');
  const resetCount = r.u32('TPMS_CLOCK_INFO.resetCount');
  const restartCount = r.u32('TPMS_CLOCK_INFO.restartCount');
  const safeByte = r.u8('TPMS_CLOCK_INFO.safe');
  if (safeByte > 1) throw new MarshalError(`TPMS_CLOCK_INFO.safe ${safeByte} is not TPMI_YES_NO`);
  const firmwareVersion = r.u64('TPMS_ATTEST.firmwareVersion');
  let attested: TpmAttest['attested'];
  if (type === TPM_ST.ATTEST_QUOTE) {
    const pcrSelect = readPcrSelection(r);
    const pcrDigest = readDigest2b(r, 'TPMS_QUOTE_INFO.pcrDigest');
    attested = { quote: { pcrSelect, pcrDigest } };
  } else {
    attested = { raw: Buffer.from(r.bytes(r.remaining, 'TPMU_ATTEST')) };
  }
  return {
    magic,
    type,
    qualifiedSigner,
    extraData,
    clockInfo: { clock, resetCount, restartCount, safe: safeByte === 1 },
    firmwareVersion,
    attested,
  };
}

export function writeAttest(w: BufferWriter, a: TpmAttest): void {
  w.u32(a.magic).u16(a.type).tpm2b(a.qualifiedSigner).tpm2b(a.extraData);
  w.u64(a.clockInfo.clock).u32(a.clockInfo.resetCount).u32(a.clockInfo.restartCount).u8(a.clockInfo.safe ? 1 : 0);
  w.u64(a.firmwareVersion);
  if ('quote' in a.attested) {
    writePcrSelection(w, a.attested.quote.pcrSelect);
    w.tpm2b(a.attested.quote.pcrDigest);
  } else {
    w.bytes(a.attested.raw);
  }
}

/** TPMS_ATTEST bytes as TPM2_Quote's `quoted` holds them, without the TPM2B_ATTEST size (IBM ACS `quoted`). */
export function marshalAttest(a: TpmAttest): Buffer {
  return marshalWhole(a, 256, writeAttest);
}

export function unmarshalAttest(buf: Uint8Array): TpmAttest {
  return unmarshalWhole(buf, 'TPMS_ATTEST', readAttest);
}

/** The quote information, or undefined when the structure attests something other than PCRs. */
export function quoteInfo(a: TpmAttest): QuoteInfo | undefined {
  return a.type === TPM_ST.ATTEST_QUOTE && 'quote' in a.attested ? a.attested.quote : undefined;
}
