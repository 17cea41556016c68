/**
 * EFI variable events (EV_EFI_VARIABLE_DRIVER_CONFIG, _BOOT, _BOOT2,
 * _AUTHORITY): the UEFI_VARIABLE_DATA structure of the TCG PC Client PFP
 *   VariableName GUID | UnicodeNameLength u64 | VariableDataLength u64 |
 *   UnicodeName[UnicodeNameLength CHAR16] | VariableData[VariableDataLength]
 * and short descriptions of the variables that matter for attestation.
 */
import { X509Certificate } from 'node:crypto';
import { devicePathToText } from './efi-device-path.js';
import { BufferReader } from '../../tpm/buffer.js';
import { guidName, readGuid, u64, ucs2 } from './efi-types.js';

export interface UefiVariable {
  vendorGuid: string;
  name: string;
  data: Buffer;
}

/** Throws MarshalError on a short header, RangeError when the data is shorter than its header says. */
export function parseUefiVariableData(b: Buffer): UefiVariable {
  const r = new BufferReader(b);
  const vendorGuid = readGuid(r);
  const nameChars = u64(r, 'UnicodeNameLength');
  const dataLen = u64(r, 'VariableDataLength');
  if (nameChars * 2 + dataLen > r.remaining) throw new RangeError('UEFI_VARIABLE_DATA longer than the event');
  const name = ucs2(r.bytes(nameChars * 2, 'UnicodeName'));
  return { vendorGuid, name, data: r.bytes(dataLen, 'VariableData') };
}

const SECURE_BOOT_DBS = new Set(['PK', 'KEK', 'db', 'dbx', 'dbt', 'dbr', 'PKDefault', 'KEKDefault', 'dbDefault', 'dbxDefault']);
const MODE_FLAGS = new Set(['SecureBoot', 'SetupMode', 'AuditMode', 'DeployedMode']);

/** EFI_SIGNATURE_LIST entries by signature type (UEFI Specification §32.4.1). */
function signatureListSummary(d: Buffer): string {
  const counts = new Map<string, number>();
  let total = 0;
  const r = new BufferReader(d);
  for (let off = 0; off < d.length;) {
    r.offset = off;
    const type = guidName(readGuid(r)).replace(/^EFI_CERT_/, '').toLowerCase();
    const listSize = r.u32le('SignatureListSize');
    const headerSize = r.u32le('SignatureHeaderSize');
    const sigSize = r.u32le('SignatureSize');
    if (listSize < 28 + headerSize || sigSize === 0 || off + listSize > d.length) throw new RangeError('bad EFI_SIGNATURE_LIST');
    const n = Math.floor((listSize - 28 - headerSize) / sigSize);
    counts.set(type, (counts.get(type) ?? 0) + n);
    total += n;
    off += listSize;
  }
  const detail = [...counts].map(([t, n]) => `${t}: ${n}`).join(', ');
  return `${total} ${total === 1 ? 'entry' : 'entries'}${detail ? ` (${detail})` : ''}`;
}

function certificateSubject(der: Buffer): string | null {
  try {
    return new X509Certificate(der).subject.replace(/\n/g, ', ');
  } catch {
    return null;
  }
}

/** EV_EFI_VARIABLE_AUTHORITY data: an EFI_SIGNATURE_DATA (owner GUID + certificate) or a bare certificate. */
function authoritySummary(d: Buffer): string | null {
  if (d[0] === 0x30) {
    const subject = certificateSubject(d);
    if (subject) return `certificate ${subject}`;
  }
  if (d.length > 16 && d[16] === 0x30) {
    const subject = certificateSubject(d.subarray(16));
    if (subject) return `owner ${guidName(readGuid(new BufferReader(d)))}, certificate ${subject}`;
  }
  return null;
}

/** EFI_LOAD_OPTION, UEFI Specification §3.1.3. */
function loadOptionSummary(d: Buffer): string {
  const r = new BufferReader(d);
  const attributes = r.u32le('Attributes');
  const pathLen = r.u16le('FilePathListLength');
  // Description: a NUL-terminated CHAR16 string; `end` stops at its NUL.
  let end = r.offset;
  while (r.remaining >= 2 && r.u16le('Description') !== 0) end = r.offset;
  const description = d.subarray(6, end).toString('utf16le');
  const path = d.subarray(end + 2, end + 2 + pathLen);
  const active = attributes & 1 ? '' : ' (inactive)';
  return `"${description}"${active} ${devicePathToText(path)}`;
}

function u16List(d: Buffer): string {
  const out: string[] = [];
  const r = new BufferReader(d);
  while (r.remaining >= 2) out.push(r.u16le().toString(16).padStart(4, '0'));
  return out.join(',');
}

function valueSummary(v: UefiVariable, authority: boolean): string | null {
  const d = v.data;
  if (d.length === 0) return 'empty';
  if (authority) return authoritySummary(d);
  if (MODE_FLAGS.has(v.name) && d.length === 1) return d[0] === 1 ? 'enabled' : d[0] === 0 ? 'disabled' : `${d[0]}`;
  if (SECURE_BOOT_DBS.has(v.name)) return signatureListSummary(d);
  if (v.name === 'BootOrder') return u16List(d);
  if (/^(Boot|Driver|SysPrep)[0-9A-Fa-f]{4}$/.test(v.name)) return loadOptionSummary(d);
  return null;
}

/**
 * "db [EFI_IMAGE_SECURITY_DATABASE] = 4 entries (x509: 3, sha256: 1)". When
 * the value has no known layout, the data is shown as text or by its length.
 */
export function describeUefiVariable(v: UefiVariable, authority: boolean): string {
  const head = `${v.name} [${guidName(v.vendorGuid)}]`;
  let summary: string | null;
  try {
    summary = valueSummary(v, authority);
  } catch {
    summary = null;
  }
  if (summary === null) {
    const text = v.data.toString('latin1');
    summary = /^[\x20-\x7e\t\r\n]+\0*$/.test(text) ? JSON.stringify(text.replace(/\0+$/, '')) : `${v.data.length} bytes`;
  }
  return `${head} = ${summary}`;
}
