/**
 * Printable firmware event data, for storage and display. Structures follow
 * the TCG PC Client PFP (event data by event type, PFP 1.05 §10.4) and the
 * UEFI Specification. Never throws: data that does not fit the expected layout is
 * shown as text when printable, else as (bounded) hex.
 */
import { HASH_ALGS } from '../../tpm/constants.js';
import { describeUefiVariable, parseUefiVariableData } from './efi-variable.js';
import { devicePathToText } from './efi-device-path.js';
import { describeGuid, hex64, u64le, ucs2 } from './efi-types.js';
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
function firmwareBlob(b: Buffer, off = 0): string {
  return `base ${hex64(u64le(b, off))} length ${hex64(u64le(b, off + 8))}`;
}

/** UEFI_PLATFORM_FIRMWARE_BLOB2: description size u8, description, base, length. */
function firmwareBlob2(b: Buffer): string {
  const n = b[0];
  return `${JSON.stringify(b.subarray(1, 1 + n).toString('latin1'))} ${firmwareBlob(b, 1 + n)}`;
}

/**
 * UEFI_IMAGE_LOAD_EVENT (PFP): ImageLocationInMemory u64, then
 * ImageLengthInMemory, ImageLinkTimeAddress, LengthOfDevicePath as UINTN
 * (64-bit here; 32-bit firmware is tried when the sizes do not add up), then
 * the device path.
 */
function imageLoad(b: Buffer): string {
  const wide = 32 + u64le(b, 24) === b.length;
  const pathLen = wide ? u64le(b, 24) : b.readUInt32LE(16);
  const start = wide ? 32 : 20;
  if (start + pathLen !== b.length) throw new RangeError('bad UEFI_IMAGE_LOAD_EVENT');
  const length = wide ? u64le(b, 8) : b.readUInt32LE(8);
  const path = pathLen > 0 ? devicePathToText(b.subarray(start, start + pathLen)) : '(no device path)';
  return `${path} (image at ${hex64(u64le(b, 0))}, ${length} bytes)`;
}

/** UEFI_GPT_DATA (PFP): the GPT header, partition count (u64), entries. */
function gpt(b: Buffer): string {
  if (b.toString('latin1', 0, 8) !== 'EFI PART') throw new RangeError('no GPT signature');
  const headerSize = b.readUInt32LE(12);
  const entrySize = b.readUInt32LE(84);
  const count = u64le(b, headerSize);
  const names: string[] = [];
  for (let i = 0; i < count && i < 128; i++) {
    const e = headerSize + 8 + i * entrySize;
    names.push(JSON.stringify(ucs2(b.subarray(e + 56, e + 128))));
  }
  return `GPT disk ${describeGuid(b, 56)}, ${count} partitions${names.length ? `: ${names.join(', ')}` : ''}`;
}

/** UEFI_HANDOFF_TABLE_POINTERS (PFP): count u64, then (VendorGuid, VendorTable u64) pairs. */
function handoffTables(b: Buffer, off = 0): string {
  const count = u64le(b, off);
  if (off + 8 + count * 24 > b.length) throw new RangeError('bad handoff tables');
  const tables: string[] = [];
  for (let i = 0; i < count; i++) tables.push(describeGuid(b, off + 8 + i * 24));
  return `${count} tables: ${tables.join(', ')}`;
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
    const v = b.readUInt32LE(0);
    if (v === 0) return '00000000 (separator)';
    if (v === 0xffffffff || v === 1) return `${b.toString('hex')} (error separator)`;
  }
  return text(b);
}

function describe(ev: FirmwareEvent): string {
  const d = ev.data;
  switch (ev.eventType) {
    case EV.NO_ACTION: return noAction(ev);
    case EV.SEPARATOR: return separator(d);
    case EV.POST_CODE: return asciiText(d) ?? (d.length === 16 ? firmwareBlob(d) : hexPreview(d));
    case EV.S_CRTM_VERSION: return asciiText(d) ?? utf16Text(d) ?? (d.length === 16 ? describeGuid(d) : hexPreview(d));
    case EV.EFI_PLATFORM_FIRMWARE_BLOB: return firmwareBlob(d);
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
    case EV.EFI_HANDOFF_TABLES: return handoffTables(d);
    case EV.EFI_HANDOFF_TABLES2: return `${JSON.stringify(d.subarray(1, 1 + d[0]).toString('latin1'))} ${handoffTables(d, 1 + d[0])}`;
    case EV.EVENT_TAG: return `tag ${hex64(d.readUInt32LE(0))}, ${d.readUInt32LE(4)} bytes`;
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
