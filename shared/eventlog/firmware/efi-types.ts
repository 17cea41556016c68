/**
 * UEFI base types found inside firmware event data (UEFI Specification
 * §2.3.1): EFI_GUID, UINT64 and UCS-2 (UTF-16LE) strings, all little-endian.
 * Decoders here throw MarshalError on short input and RangeError on values
 * out of range; event-data.ts turns either into a text or hex fallback.
 */
import { BufferReader } from '../../tpm/buffer.js';

/** Names of the GUIDs that event data commonly carries. */
const GUID_NAMES = new Map<string, string>([
  ['8be4df61-93ca-11d2-aa0d-00e098032b8c', 'EFI_GLOBAL_VARIABLE'],
  ['d719b2cb-3d3a-4596-a3bc-dad00e67656f', 'EFI_IMAGE_SECURITY_DATABASE'],
  ['605dab50-e046-4300-abb6-3dd810dd8b23', 'SHIM_LOCK'],
  ['77fa9abd-0359-4d32-bd60-28f4e78f784b', 'MICROSOFT'],
  ['c1c41626-504c-4092-aca9-41f936934328', 'EFI_CERT_SHA256'],
  ['826ca512-cf10-4ac9-b187-be01496631bd', 'EFI_CERT_SHA1'],
  ['a5c059a1-94e4-4aa7-87b5-ab155c2bf072', 'EFI_CERT_X509'],
  ['3c5766e8-269c-4e34-aa14-ed776e85b3b6', 'EFI_CERT_RSA2048'],
  ['3bd2a492-96c0-4079-b420-fcf98ef103ed', 'EFI_CERT_X509_SHA256'],
  ['eb9d2d30-2d88-11d3-9a16-0090273fc14d', 'ACPI_TABLE'],
  ['8868e871-e4f1-11d3-bc22-0080c73c8881', 'ACPI_20_TABLE'],
  ['eb9d2d31-2d88-11d3-9a16-0090273fc14d', 'SMBIOS_TABLE'],
  ['f2fd1544-9794-4a2c-992e-e5bbcf20e394', 'SMBIOS3_TABLE'],
]);

/** A reader over `b` positioned at `offset`, for fields at fixed places in a structure. */
export function readerAt(b: Buffer, offset: number, what = 'field'): BufferReader {
  const r = new BufferReader(b);
  r.skip(offset, what);
  return r;
}

/** EFI_GUID: Data1 u32, Data2 u16, Data3 u16 little-endian, then Data4[8] as stored. */
export function readGuid(r: BufferReader): string {
  const d1 = r.u32le('EFI_GUID');
  const d2 = r.u16le('EFI_GUID');
  const d3 = r.u16le('EFI_GUID');
  const d4 = r.bytes(8, 'EFI_GUID').toString('hex');
  return `${d1.toString(16).padStart(8, '0')}-${d2.toString(16).padStart(4, '0')}-${d3.toString(16).padStart(4, '0')}-${d4.slice(0, 4)}-${d4.slice(4)}`;
}

export function formatGuid(b: Buffer, offset = 0): string {
  return readGuid(readerAt(b, offset, 'EFI_GUID'));
}

/** The well-known name of a GUID (e.g. "EFI_CERT_X509"), else the GUID itself. */
export function guidName(g: string): string {
  return GUID_NAMES.get(g) ?? g;
}

export function describeGuid(b: Buffer, offset = 0): string {
  return guidName(formatGuid(b, offset));
}

/** A UTF-16LE string, cut at the first NUL. */
export function ucs2(b: Buffer): string {
  const even = b.subarray(0, b.length & ~1);
  const s = even.toString('utf16le');
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

/** A UINT64 that must fit a JS number (lengths, counts, addresses below 2^53). */
export function u64(r: BufferReader, what = 'UINT64'): number {
  const lo = r.u32le(what);
  const hi = r.u32le(what);
  if (hi > 0x1fffff) throw new RangeError(`${what} too large`);
  return hi * 0x1_0000_0000 + lo;
}

export function hex64(v: number): string {
  return `0x${v.toString(16)}`;
}
