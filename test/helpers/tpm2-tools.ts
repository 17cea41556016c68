/** Inputs for tpm2-tools, the independent verifier tests check quotes with. */
import type { PcrSelection } from '../../shared/tpm/pcr-selection.js';

/**
 * The PCR file tpm2_quote -o writes and tpm2_checkquote -f reads (tpm2-tools
 * 5.x "serialized" form, the in-memory structs in host byte order):
 * TPML_PCR_SELECTION { u32 count; 16 x { u16 hash; u8 sizeofSelect; u8 select[4]; pad } },
 * u32 number of TPML_DIGESTs, then each TPML_DIGEST { u32 count; 8 x { u16 size; u8 buffer[64] } }.
 * `digests` are the selected PCRs' values in selection order.
 * (The raw "values" form with -l fails in tpm2-tools 5.4 even on its own quotes.)
 */
export function tpm2ToolsPcrs(selection: readonly PcrSelection[], digests: readonly Buffer[]): Buffer {
  const sel = Buffer.alloc(4 + 16 * 8);
  sel.writeUInt32LE(selection.length, 0);
  selection.forEach((s, i) => {
    sel.writeUInt16LE(s.hashAlg, 4 + i * 8);
    sel.writeUInt8(s.select.length, 4 + i * 8 + 2);
    s.select.copy(sel, 4 + i * 8 + 3);
  });
  const lists: Buffer[] = [];
  for (let i = 0; i < digests.length; i += 8) {
    const chunk = digests.slice(i, i + 8);
    const list = Buffer.alloc(4 + 8 * 66);
    list.writeUInt32LE(chunk.length, 0);
    chunk.forEach((d, j) => {
      list.writeUInt16LE(d.length, 4 + j * 66);
      d.copy(list, 4 + j * 66 + 2);
    });
    lists.push(list);
  }
  const count = Buffer.alloc(4);
  count.writeUInt32LE(lists.length, 0);
  return Buffer.concat([sel, count, ...lists]);
}
