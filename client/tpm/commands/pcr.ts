/** TPM2_PCR_Read (Part 3 §22.4) and TPM2_PCR_Extend (Part 3 §22.2). */
import { BufferReader, BufferWriter, MarshalError } from '../../../shared/tpm/buffer.js';
import { digestSize } from '../../../shared/tpm/constants.js';
import {
  buildPcrSelection,
  marshalPcrSelection,
  readPcrSelection,
  selectedPcrs,
  selectionOrder,
  type PcrSelection,
} from '../../../shared/tpm/pcr-selection.js';
import { readDigest2b } from '../../../shared/tpm/tpm2b.js';
import { passwordAuth, TPM_CC } from '../command.js';
import type { Tpm } from '../tpm.js';

/** PCR values by bank (TPM_ALG_ID) then PCR index. */
export type PcrReadout = Map<number, Map<number, Buffer>>;

function readOnce(tpm: Tpm, sel: readonly PcrSelection[]) {
  return tpm.execute({ cc: TPM_CC.PCR_Read, params: marshalPcrSelection(sel) }, (res) => {
    const r = new BufferReader(res.params);
    const updateCounter = r.u32('pcrUpdateCounter');
    const out = readPcrSelection(r);
    const count = r.u32('TPML_DIGEST.count');
    const order = selectionOrder(out);
    if (count !== order.length) throw new MarshalError(`${count} PCR values for ${order.length} selected PCRs`);
    const values = order.map((o) => ({ ...o, digest: readDigest2b(r, 'PCR value') }));
    r.done('TPM2_PCR_Read response');
    return { updateCounter, values };
  });
}

/**
 * Reads every selected PCR. A TPM returns at most 8 values per call
 * (TPML_DIGEST), so the rest is asked again until nothing remains; PCRs of
 * a bank the TPM has not allocated are absent from the result.
 */
export async function pcrRead(tpm: Tpm, selection: readonly PcrSelection[]): Promise<PcrReadout> {
  const result: PcrReadout = new Map();
  let remaining = selection.map((s) => ({ hashAlg: s.hashAlg, pcrs: new Set(selectedPcrs(s)) }));
  while (remaining.some((b) => b.pcrs.size > 0)) {
    const sel = buildPcrSelection(remaining.map((b) => [b.hashAlg, [...b.pcrs]] as const));
    const { values } = await readOnce(tpm, sel);
    if (values.length === 0) break;
    for (const v of values) {
      const bank = remaining.find((b) => b.hashAlg === v.hashAlg);
      if (!bank?.pcrs.delete(v.pcr)) throw new MarshalError(`PCR_Read returned unrequested PCR ${v.pcr}`);
      if (!result.has(v.hashAlg)) result.set(v.hashAlg, new Map());
      result.get(v.hashAlg)!.set(v.pcr, v.digest);
    }
    remaining = remaining.filter((b) => b.pcrs.size > 0);
  }
  return result;
}

/** Extends `pcr` in each bank given with that bank's digest (TPML_DIGEST_VALUES). */
export async function pcrExtend(tpm: Tpm, pcr: number, digests: readonly { hashAlg: number; digest: Buffer }[]): Promise<void> {
  const w = new BufferWriter(8 + 66 * digests.length).u32(digests.length);
  for (const d of digests) {
    if (d.digest.length !== digestSize(d.hashAlg)) throw new RangeError(`digest of ${d.digest.length} bytes for alg 0x${d.hashAlg.toString(16)}`);
    w.u16(d.hashAlg).bytes(d.digest);
  }
  return tpm.execute({ cc: TPM_CC.PCR_Extend, handles: [pcr], auth: [passwordAuth()], params: w.finish() }, () => undefined);
}
