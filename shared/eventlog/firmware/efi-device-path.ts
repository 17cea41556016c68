/**
 * EFI_DEVICE_PATH_PROTOCOL to text, close to the UEFI Specification §10.6
 * text form ("PciRoot(0x0)/Pci(0x1,0x1)/HD(1,GPT,…)/\EFI\BOOT\BOOTX64.EFI").
 * Nodes are Type u8 | SubType u8 | Length u16 (UEFI §10.3); unknown nodes
 * print as Path(type,subtype,hex). A malformed node ends the text with a marker.
 */
import { BufferReader } from '../../tpm/buffer.js';
import { formatGuid, hex64, readerAt, u64, ucs2 } from './efi-types.js';

const h = (v: number) => `0x${v.toString(16)}`;

function hardware(sub: number, n: Buffer): string | null {
  const r = new BufferReader(n);
  switch (sub) {
    case 1: return `Pci(${h(n[1])},${h(n[0])})`;
    case 3: return `MemoryMapped(${h(r.u32le())},${hex64(u64(r))},${hex64(u64(r))})`;
    case 4: return `VenHw(${formatGuid(n)})`;
    case 5: return `Ctrl(${h(r.u32le())})`;
    default: return null;
  }
}

function acpi(sub: number, n: Buffer): string | null {
  const r = new BufferReader(n);
  if (sub !== 1) return sub === 3 ? `AcpiAdr(${h(r.u32le())})` : null;
  const hid = r.u32le('_HID');
  const uid = r.u32le('_UID');
  if (hid === 0x0a0341d0) return `PciRoot(${h(uid)})`;
  if (hid === 0x0a0841d0) return `PcieRoot(${h(uid)})`;
  return `Acpi(${h(hid)},${h(uid)})`;
}

function messaging(sub: number, n: Buffer): string | null {
  const r = new BufferReader(n);
  switch (sub) {
    case 0x01: return `Ata(${n[0]},${n[1]},${readerAt(n, 2).u16le()})`;
    case 0x02: return `Scsi(${h(r.u16le())},${h(r.u16le())})`;
    case 0x05: return `USB(${h(n[0])},${h(n[1])})`;
    case 0x0a: return `VenMsg(${formatGuid(n)})`;
    case 0x0b: return `MAC(${n.subarray(0, 6).toString('hex')},${h(n[32])})`;
    case 0x0c: return `IPv4(${[...n.subarray(4, 8)].join('.')})`;
    case 0x12: return `Sata(${h(r.u16le())},${h(r.u16le())},${h(r.u16le())})`;
    case 0x17: return `NVMe(${h(r.u32le())},${n.subarray(4, 12).toString('hex')})`;
    case 0x18: return `Uri(${n.toString('latin1')})`;
    case 0x1d: return `eMMC(${h(n[0])})`;
    default: return null;
  }
}

function media(sub: number, n: Buffer): string | null {
  const r = new BufferReader(n);
  switch (sub) {
    case 1: {
      const part = r.u32le('PartitionNumber');
      const start = hex64(u64(r, 'PartitionStart'));
      const size = hex64(u64(r, 'PartitionSize'));
      const sigType = n[37];
      const sig = sigType === 2 ? formatGuid(n, 20) : h(readerAt(n, 20).u32le('PartitionSignature'));
      return `HD(${part},${sigType === 2 ? 'GPT' : sigType === 1 ? 'MBR' : sigType},${sig},${start},${size})`;
    }
    case 2: return `CDROM(${h(r.u32le())},${hex64(u64(r))},${hex64(u64(r))})`;
    case 3: return `VenMedia(${formatGuid(n)})`;
    case 4: return ucs2(n);
    case 6: return `FvFile(${formatGuid(n)})`;
    case 7: return `Fv(${formatGuid(n)})`;
    case 8: return `Offset(${hex64(u64(readerAt(n, 4)))},${hex64(u64(readerAt(n, 12)))})`;
    default: return null;
  }
}

function nodeText(type: number, sub: number, n: Buffer): string | null {
  switch (type) {
    case 1: return hardware(sub, n);
    case 2: return acpi(sub, n);
    case 3: return messaging(sub, n);
    case 4: return media(sub, n);
    case 5: return `BBS(${h(readerAt(n, 0).u16le())})`;
    default: return null;
  }
}

export function devicePathToText(b: Buffer): string {
  let sep = '';
  let out = '';
  const r = new BufferReader(b);
  for (let off = 0; off + 4 <= b.length;) {
    r.offset = off;
    const type = r.u8();
    const sub = r.u8();
    const len = r.u16le('device path node Length');
    if (len < 4 || off + len > b.length) return `${out}${sep}<malformed device path>`;
    if (type === 0x7f) {
      if (sub === 0xff) break;
      sep = ',';
      off += len;
      continue;
    }
    const n = b.subarray(off + 4, off + len);
    let text: string | null;
    try {
      text = nodeText(type, sub, n);
    } catch {
      text = null;
    }
    out += sep + (text ?? `Path(${type},${sub},${n.toString('hex')})`);
    sep = '/';
    off += len;
  }
  return out;
}

