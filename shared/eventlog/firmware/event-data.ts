/**
 * Printable firmware event data, for storage and display. Structures follow
 * the TCG PC Client PFP (event data by event type, PFP 1.05 §10.4) and the
 * UEFI Specification. Never throws: data that does not fit the expected layout is
 * shown as text when printable, else as (bounded) hex.
 */
import { HASH_ALGS } from '../../tpm/constants.js';
import { describeUefiVariable, parseUefiVariableData } from './efi-variable.js';
import { devicePathToText } from './efi-device-path.js';
import { BufferReader } from '../../tpm/buffer.js';
import { guidName, hex64, readGuid, readerAt, u64, ucs2 } from './efi-types.js';
import { EV } from './event-types.js';
import { parseSpecIdEvent, type FirmwareEvent } from './event.js';
import { startupLocality } from './replay.js';

/** Hex shown for data with no known layout is cut after this many bytes. */
const MAX_HEX_BYTES = 1024;

function hexPreview(b: Buffer): string {
  if (b.length <= MAX_HEX_BYTES) return b.toString('hex');
  return `${b.subarray(0, MAX_HEX_BYTES).toString('hex')}... (${b.length} bytes)`;
}

/** ASCII text (trailing NULs dropped) when every byte is printable, else null. */
function asciiText(b: Buffer): string | null {
  const s = b.toString('latin1').replace(/\0+$/, '');
  return s.length > 0 && /^[\x20-\x7e\t\r\n]*$/.test(s) ? s : null;
}

/** UTF-16LE text when the data looks like it (even length, printable), else null. */
function utf16Text(b: Buffer): string | null {
  if (b.length < 2 || b.length % 2 !== 0) return null;
  const s = ucs2(b);
  return s.length > 0 && /^[\x20-\x7e\t\r\n\u00a0-\u00ff]*$/.test(s) && s.length * 2 >= b.length - 2 ? s : null;
}

function text(b: Buffer): string {
  return asciiText(b) ?? utf16Text(b) ?? hexPreview(b);
}

/** UEFI_PLATFORM_FIRMWARE_BLOB (PFP): base u64, length u64. */
function firmwareBlob(r: BufferReader): string {
  const base = u64(r, 'BlobBase');
  return `base ${hex64(base)} length ${hex64(u64(r, 'BlobLength'))}`;
}

/** UEFI_PLATFORM_FIRMWARE_BLOB2: description size u8, description, base, length. */
function firmwareBlob2(b: Buffer): string {
  const r = new BufferReader(b);
  const description = r.latin1(r.u8('BlobDescriptionSize'), 'BlobDescription');
  return `${JSON.stringify(description)} ${firmwareBlob(r)}`;
}

/**
 * UEFI_IMAGE_LOAD_EVENT (PFP): ImageLocationInMemory u64, then
 * ImageLengthInMemory, ImageLinkTimeAddress, LengthOfDevicePath as UINTN
 * (64-bit here; 32-bit firmware is tried when the sizes do not add up), then
 * the device path.
 */
function imageLoad(b: Buffer): string {
  const wide = 32 + u64(readerAt(b, 24), 'LengthOfDevicePath') === b.length;
  const uintn = (r: BufferReader, what: string) => (wide ? u64(r, what) : r.u32le(what));
  const r = new BufferReader(b);
  const location = u64(r, 'ImageLocationInMemory');
  const length = uintn(r, 'ImageLengthInMemory');
  r.skip(wide ? 8 : 4, 'ImageLinkTimeAddress'); // not shown, and may exceed 2^53
  const pathLen = uintn(r, 'LengthOfDevicePath');
  if (pathLen !== r.remaining) throw new RangeError('bad UEFI_IMAGE_LOAD_EVENT');
  const path = pathLen > 0 ? devicePathToText(r.bytes(pathLen, 'DevicePath')) : '(no device path)';
  return `${path} (image at ${hex64(location)}, ${length} bytes)`;
}

/** UEFI_GPT_DATA (PFP): the GPT header, partition count (u64), entries. */
function gpt(b: Buffer): string {
  const r = new BufferReader(b);
  if (r.latin1(8, 'Signature') !== 'EFI PART') throw new RangeError('no GPT signature');
  r.skip(4, 'Revision');
  const headerSize = r.u32le('HeaderSize');
  const entrySize = readerAt(b, 84).u32le('SizeOfPartitionEntry');
  const count = u64(readerAt(b, headerSize), 'NumberOfPartitions');
  const names: string[] = [];
  for (let i = 0; i < count && i < 128; i++) {
    const e = headerSize + 8 + i * entrySize;
    names.push(JSON.stringify(ucs2(b.subarray(e + 56, e + 128))));
  }
  return `GPT disk ${guidName(readGuid(readerAt(b, 56)))}, ${count} partitions${names.length ? `: ${names.join(', ')}` : ''}`;
}

/** UEFI_HANDOFF_TABLE_POINTERS (PFP): count u64, then (VendorGuid, VendorTable u64) pairs. */
function handoffTables(r: BufferReader): string {
  const count = u64(r, 'NumberOfTables');
  if (count * 24 > r.remaining) throw new RangeError('bad handoff tables');
  const tables: string[] = [];
  for (let i = 0; i < count; i++) {
    tables.push(guidName(readGuid(r)));
    r.skip(8, 'VendorTable');
  }
  return `${count} tables: ${tables.join(', ')}`;
}

/** UEFI_HANDOFF_TABLE_POINTERS2: description size u8, description, then the tables. */
function handoffTables2(b: Buffer): string {
  const r = new BufferReader(b);
  const description = r.latin1(r.u8('TableDescriptionSize'), 'TableDescription');
  return `${JSON.stringify(description)} ${handoffTables(r)}`;
}

function noAction(ev: FirmwareEvent): string {
  const specId = ev.index === 0 ? parseSpecIdEvent(ev.data) : null;
  if (specId) {
    const algs = specId.algorithms.map((a) => HASH_ALGS.get(a.algId)?.name ?? `0x${a.algId.toString(16)}`);
    return `Spec ID Event03: ${algs.join(', ')}`;
  }
  const locality = startupLocality(ev);
  if (locality !== null) return `StartupLocality ${locality}`;
  return text(ev.data);
}

function separator(b: Buffer): string {
  if (b.length === 4) {
    const v = new BufferReader(b).u32le();
    if (v === 0) return '00000000 (separator)';
    if (v === 0xffffffff || v === 1) return `${b.toString('hex')} (error separator)`;
  }
  return text(b);
}

/** TCG_PCClientTaggedEvent (PFP): EventID u32, EventDataSize u32, EventData. */
function eventTag(b: Buffer): string {
  const r = new BufferReader(b);
  const id = r.u32le('taggedEventID');
  return `tag ${hex64(id)}, ${r.u32le('taggedEventDataSize')} bytes`;
}

function describe(ev: FirmwareEvent): string {
  const d = ev.data;
  switch (ev.eventType) {
    case EV.NO_ACTION: return noAction(ev);
    case EV.SEPARATOR: return separator(d);
    case EV.POST_CODE: return asciiText(d) ?? (d.length === 16 ? firmwareBlob(new BufferReader(d)) : hexPreview(d));
    case EV.S_CRTM_VERSION: return asciiText(d) ?? utf16Text(d) ?? (d.length === 16 ? guidName(readGuid(new BufferReader(d))) : hexPreview(d));
    case EV.EFI_PLATFORM_FIRMWARE_BLOB: return firmwareBlob(new BufferReader(d));
    case EV.EFI_PLATFORM_FIRMWARE_BLOB2: return firmwareBlob2(d);
    case EV.EFI_VARIABLE_DRIVER_CONFIG:
    case EV.EFI_VARIABLE_BOOT:
    case EV.EFI_VARIABLE_BOOT2:
      return describeUefiVariable(parseUefiVariableData(d), false);
    case EV.EFI_VARIABLE_AUTHORITY: return describeUefiVariable(parseUefiVariableData(d), true);
    case EV.EFI_BOOT_SERVICES_APPLICATION:
    case EV.EFI_BOOT_SERVICES_DRIVER:
    case EV.EFI_RUNTIME_SERVICES_DRIVER:
      return imageLoad(d);
    case EV.EFI_GPT_EVENT: return gpt(d);
    case EV.EFI_HANDOFF_TABLES: return handoffTables(new BufferReader(d));
    case EV.EFI_HANDOFF_TABLES2: return handoffTables2(d);
    case EV.EVENT_TAG: return eventTag(d);
    default: return text(d);
  }
}

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One line describing the event data (line breaks inside text are escaped). */
export function describeEventData(ev: FirmwareEvent): string {
  if (ev.data.length === 0) return '';
  let out: string;
  try {
    out = describe(ev);
  } catch {
    out = text(ev.data);
  }
  return out.replace(/[\r\n\t]/g, (c) => ESCAPES[c]);
}
