/**
 * UEFI base types found inside firmware event data (UEFI Specification
 * §2.3.1): EFI_GUID and UCS-2 (UTF-16LE) strings. Decoders here may throw
 * RangeError on short input; event-data.ts turns that into a hex fallback.
 */

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

/** EFI_GUID: the first three fields are little-endian, the last 8 bytes are as stored. */
export function formatGuid(b: Buffer, offset = 0): string {
  const g = b.subarray(offset, offset + 16);
  if (g.length !== 16) throw new RangeError('short GUID');
  const hex = (s: number, e: number) => g.subarray(s, e).toString('hex');
  return [
    g.readUInt32LE(0).toString(16).padStart(8, '0'),
    g.readUInt16LE(4).toString(16).padStart(4, '0'),
    g.readUInt16LE(6).toString(16).padStart(4, '0'),
    hex(8, 10),
    hex(10, 16),
  ].join('-');
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

/** Reads a UINT64 that must fit a JS number (lengths, counts, addresses below 2^53). */
export function u64le(b: Buffer, offset: number): number {
  const v = b.readBigUInt64LE(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('UINT64 too large');
  return Number(v);
}

export function hex64(v: number): string {
  return `0x${v.toString(16)}`;
}
