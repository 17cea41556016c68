/** TPM2_GetCapability, TPM 2.0 Part 3 §30.2, for TPM properties (Part 2 §6.13). */
import { BufferReader, BufferWriter, MarshalError } from '../../../shared/tpm/buffer.js';
import { TPM_CC } from '../command.js';
import type { Tpm } from '../tpm.js';

/** TPM_CAP, Part 2 §6.12. */
export const TPM_CAP = { HANDLES: 0x00000001, PCRS: 0x00000005, TPM_PROPERTIES: 0x00000006 } as const;

/** TPM_PT values, Part 2 §6.13 (PT_FIXED = 0x100). */
export const TPM_PT = {
  MANUFACTURER: 0x100 + 5,
  VENDOR_STRING_1: 0x100 + 6,
  FIRMWARE_VERSION_1: 0x100 + 11,
  NV_BUFFER_MAX: 0x100 + 44,
} as const;

/** The TPML a capability answers with: its name, the marshaled size of one item, and how to read one. */
interface CapabilityList<T> {
  name: string;
  itemBytes: number;
  read: (r: BufferReader) => T;
}

/**
 * One TPM2_GetCapability call: up to `count` items of `cap` from `first`.
 * The count is checked against the reply's length before anything is read,
 * so a corrupt count fails as a MarshalError rather than a huge allocation.
 */
function getCapability<T>(tpm: Tpm, cap: number, first: number, count: number, list: CapabilityList<T>): Promise<T[]> {
  const params = new BufferWriter(12).u32(cap).u32(first).u32(count).finish();
  return tpm.execute({ cc: TPM_CC.GetCapability, params }, (res) => {
    const r = new BufferReader(res.params);
    r.u8('moreData');
    const answered = r.u32('capability');
    if (answered !== cap) throw new MarshalError(`capability 0x${answered.toString(16)} in reply`);
    const n = r.u32(`${list.name}.count`);
    if (n > r.remaining / list.itemBytes) throw new MarshalError(`${list.name}.count ${n} exceeds the reply`);
    return Array.from({ length: n }, () => list.read(r));
  });
}

const TAGGED_PROPERTIES: CapabilityList<[number, number]> = {
  name: 'TPML_TAGGED_TPM_PROPERTY',
  itemBytes: 8,
  read: (r) => [r.u32('property'), r.u32('value')],
};

const HANDLES: CapabilityList<number> = { name: 'TPML_HANDLE', itemBytes: 4, read: (r) => r.u32('handle') };

/** Reads TPM properties starting at `first`; the TPM may return fewer than asked. */
export async function getTpmProperties(tpm: Tpm, first: number, count: number): Promise<Map<number, number>> {
  return new Map(await getCapability(tpm, TPM_CAP.TPM_PROPERTIES, first, count, TAGGED_PROPERTIES));
}

export async function getTpmProperty(tpm: Tpm, property: number): Promise<number | undefined> {
  return (await getTpmProperties(tpm, property, 1)).get(property);
}

/**
 * TPM_PT_MANUFACTURER as its 4 ASCII characters, e.g. "IBM ", "IFX\0" read
 * as "IFX " (the TCG vendor ID registry pads with spaces or NULs).
 */
export async function getManufacturer(tpm: Tpm): Promise<string> {
  const v = await getTpmProperty(tpm, TPM_PT.MANUFACTURER);
  if (v === undefined) throw new MarshalError('TPM did not report TPM_PT_MANUFACTURER');
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b.toString('latin1').replace(/\0/g, ' ');
}

/** Handle range starts, Part 2 §7.2 (TPM_HT shifted into the top byte). */
export const TPM_HR = {
  HMAC_SESSION: 0x02000000,
  POLICY_SESSION: 0x03000000,
  TRANSIENT: 0x80000000,
  PERSISTENT: 0x81000000,
} as const;

/** Handles in use in the range that starts at `first` (one handle type), e.g. loaded transient objects. */
export async function getHandles(tpm: Tpm, first: number, max = 64): Promise<number[]> {
  const handles = await getCapability(tpm, TPM_CAP.HANDLES, first, max, HANDLES);
  return handles.filter((h) => h >>> 24 === first >>> 24);
}
