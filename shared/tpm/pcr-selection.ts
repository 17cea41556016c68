/**
 * TPML_PCR_SELECTION / TPMS_PCR_SELECTION (TPM 2.0 Part 2 §10.6.2, §10.9.7):
 * a list of banks, each with a bitmap where bit j of byte i selects PCR 8i+j.
 * The bitmap bytes are kept as received so a selection re-marshals to the
 * same bytes (IBM ACS sends a three-byte bitmap and an empty SHA-1 bank).
 */
import { BufferReader, BufferWriter, MarshalError } from './buffer.js';
import { marshalWhole, unmarshalWhole } from './whole-structure.js';

export interface PcrSelection {
  hashAlg: number;
  /** pcrSelect[sizeofSelect]. */
  select: Buffer;
}

/** Bounds well above any TPM (HASH_COUNT banks, PCR_SELECT_MAX bytes) that stop hostile counts early. */
const MAX_BANKS = 16;
const MAX_SELECT_BYTES = 32;
/** PCR_SELECT_MIN for a PC Client TPM: 24 PCRs. */
export const PCR_SELECT_MIN = 3;

export function readPcrSelection(r: BufferReader): PcrSelection[] {
  const count = r.u32('TPML_PCR_SELECTION.count');
  if (count > MAX_BANKS) throw new MarshalError(`TPML_PCR_SELECTION.count ${count} exceeds ${MAX_BANKS}`);
  const out: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hashAlg = r.u16('TPMS_PCR_SELECTION.hash');
    const size = r.u8('TPMS_PCR_SELECTION.sizeofSelect');
    if (size > MAX_SELECT_BYTES) throw new MarshalError(`TPMS_PCR_SELECTION.sizeofSelect ${size} exceeds ${MAX_SELECT_BYTES}`);
    out.push({ hashAlg, select: Buffer.from(r.bytes(size, 'TPMS_PCR_SELECTION.pcrSelect')) });
  }
  return out;
}

export function writePcrSelection(w: BufferWriter, sel: readonly PcrSelection[]): void {
  w.u32(sel.length);
  for (const s of sel) {
    if (s.select.length > 0xff) throw new MarshalError(`pcrSelect of ${s.select.length} bytes`);
    w.u16(s.hashAlg).u8(s.select.length).bytes(s.select);
  }
}

export function marshalPcrSelection(sel: readonly PcrSelection[]): Buffer {
  return marshalWhole(sel, 64, writePcrSelection);
}

export function unmarshalPcrSelection(buf: Uint8Array): PcrSelection[] {
  return unmarshalWhole(buf, 'TPML_PCR_SELECTION', readPcrSelection);
}

/**
 * Builds a selection from banks and their PCR indexes, in the order given
 * (a Map keeps insertion order). An empty index list gives an empty bank,
 * as IBM ACS sends for SHA-1.
 */
export function buildPcrSelection(
  banks: Iterable<readonly [number, readonly number[]]>,
  sizeofSelect = PCR_SELECT_MIN,
): PcrSelection[] {
  const out: PcrSelection[] = [];
  for (const [hashAlg, pcrs] of banks) {
    const need = Math.max(sizeofSelect, ...pcrs.map((p) => (p >> 3) + 1));
    if (need > MAX_SELECT_BYTES) throw new RangeError(`PCR index too large for a selection`);
    const select = Buffer.alloc(need);
    for (const p of pcrs) {
      if (!Number.isInteger(p) || p < 0) throw new RangeError(`PCR index ${p}`);
      select[p >> 3] |= 1 << (p & 7);
    }
    out.push({ hashAlg, select });
  }
  return out;
}

/** Selected PCR indexes of one bank, ascending. */
export function selectedPcrs(sel: PcrSelection): number[] {
  const out: number[] = [];
  for (let i = 0; i < sel.select.length; i++) {
    for (let bit = 0; bit < 8; bit++) if (sel.select[i] & (1 << bit)) out.push(i * 8 + bit);
  }
  return out;
}

/**
 * Every selected (bank, PCR) in the order the TPM concatenates PCR values for
 * a quote's pcrDigest: bank by bank as listed, ascending index within a bank
 * (Part 3 §18.4 TPM2_Quote, via PCR_ComputeCurrentDigest).
 */
export function selectionOrder(sel: readonly PcrSelection[]): { hashAlg: number; pcr: number }[] {
  return sel.flatMap((s) => selectedPcrs(s).map((pcr) => ({ hashAlg: s.hashAlg, pcr })));
}

/** True when both select the same PCRs in the same banks in the same order (bitmap length aside). */
export function samePcrSelection(a: readonly PcrSelection[], b: readonly PcrSelection[]): boolean {
  const x = selectionOrder(a);
  const y = selectionOrder(b);
  return x.length === y.length && x.every((e, i) => e.hashAlg === y[i].hashAlg && e.pcr === y[i].pcr);
}
