/**
 * IMA ASCII measurement log (ascii_runtime_measurements), one event a line:
 *   pcr template-hash template-name field…
 * Fields print as in ima_template_lib.c (IMA_SHOW_ASCII): digests as
 * "[type:]alg:hex", names as text (the kernel turns spaces into '_'),
 * signatures and buffers as hex, an empty field as nothing. The template
 * data is rebuilt in the binary (little-endian) form so that template hashes
 * and PCRs can be checked exactly as for a binary log.
 */
import { BufferWriter } from '../../tpm/buffer.js';
import type { HashAlg } from '../../tpm/constants.js';
import { PCR_COUNT } from '../../tpm/pcr-banks.js';
import { EventLogError } from '../errors.js';
import { resolveTemplateHashAlg, type ImaEvent } from './event.js';
import { templateFieldIds } from './template.js';
import { bankSize } from '../pcr-values.js';

export interface ImaAsciiOptions {
  /** Template-hash algorithm; default: inferred from the hex length (sha1, sha256, sha384, sha512). */
  templateHashAlg?: HashAlg | string | number;
  firstIndex?: number;
}

const BY_SIZE: Record<number, HashAlg> = { 20: 'sha1', 32: 'sha256', 48: 'sha384', 64: 'sha512' };

/** The template-hash algorithm an ASCII log implies when nobody says: by size (32 bytes read as SHA-256). */
export function templateHashAlgBySize(size: number): HashAlg | undefined {
  return BY_SIZE[size];
}

function hexBytes(s: string, what: string): Buffer {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new EventLogError(`malformed hex in ${what}`);
  return Buffer.from(s, 'hex');
}

/** One field's binary value from its ASCII form. */
function fieldBytes(id: string, tok: string): Buffer {
  switch (id) {
    case 'd':
      return hexBytes(tok, id);
    case 'd-ng':
    case 'd-ngv2':
    case 'd-modsig': {
      if (tok === '') return Buffer.alloc(0);
      const colon = tok.lastIndexOf(':');
      const prefix = colon < 0 ? ':' : tok.slice(0, colon + 1);
      return Buffer.concat([Buffer.from(`${prefix}\0`, 'latin1'), hexBytes(tok.slice(colon + 1), id)]);
    }
    case 'n':
    case 'n-ng':
    case 'xattrnames':
      return Buffer.from(`${tok}\0`, 'utf8');
    case 'iuid':
    case 'igid':
    case 'imode': {
      if (tok === '') return Buffer.alloc(0);
      const v = Number(tok);
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new EventLogError(`malformed ${id} field`);
      const b = Buffer.alloc(id === 'imode' ? 2 : 4);
      if (id === 'imode') b.writeUInt16LE(v & 0xffff);
      else b.writeUInt32LE(v);
      return b;
    }
    default:
      return hexBytes(tok, id);
  }
}

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** Template data in the kernel's binary form for the given fields. */
function templateData(name: string, ids: readonly string[], toks: string[]): Buffer {
  const w = new BufferWriter(256);
  if (name === 'ima') {
    // 'ima' logs a bare 20-byte digest and a length-prefixed name without NUL.
    const digest = fieldBytes('d', toks[0] ?? '');
    if (digest.length !== 20 || toks.length !== 2) throw new EventLogError("malformed 'ima' entry");
    const fileName = Buffer.from(toks[1], 'utf8');
    return w.bytes(digest).bytes(u32le(fileName.length)).bytes(fileName).finish();
  }
  ids.forEach((id, i) => {
    const v = fieldBytes(id, toks[i] ?? '');
    w.bytes(u32le(v.length)).bytes(v);
  });
  return w.finish();
}

export function parseImaAsciiLine(line: string, index: number, opts: ImaAsciiOptions = {}): ImaEvent {
  const toks = line.split(' ');
  if (toks.length < 3) throw new EventLogError('line has fewer than 3 columns', undefined, index);
  const [pcrText, hashHex, templateName] = toks;
  const pcrIndex = Number(pcrText);
  if (!/^\d{1,2}$/.test(pcrText) || pcrIndex >= PCR_COUNT) throw new EventLogError(`bad PCR index ${JSON.stringify(pcrText)}`, undefined, index);
  const alg = opts.templateHashAlg !== undefined ? resolveTemplateHashAlg(opts.templateHashAlg) : templateHashAlgBySize(hashHex.length / 2);
  if (!alg || hashHex.length !== 2 * bankSize(alg)) {
    throw new EventLogError(`template hash of ${hashHex.length / 2} bytes does not fit ${alg ?? 'any known algorithm'}`, undefined, index);
  }
  const ids = templateFieldIds(templateName);
  if (!ids) throw new EventLogError(`unknown template ${JSON.stringify(templateName)}`, undefined, index);
  let values = toks.slice(3);
  if (values.length > ids.length) {
    // Only a name can hold the extra spaces; join them back into it.
    const at = ids.findIndex((id) => id === 'n' || id === 'n-ng');
    if (at < 0) throw new EventLogError(`${values.length} fields for template ${templateName}`, undefined, index);
    const extra = values.length - ids.length;
    values = [...values.slice(0, at), values.slice(at, at + extra + 1).join(' '), ...values.slice(at + extra + 1)];
  }
  let data: Buffer;
  try {
    data = templateData(templateName, ids, values);
  } catch (e) {
    if (e instanceof EventLogError) throw new EventLogError(e.detail, undefined, index);
    throw e;
  }
  return { index, pcrIndex, templateHash: hexBytes(hashHex, 'template hash'), templateName, templateData: data, littleEndian: true };
}

/** Every event of an ASCII log; blank lines are ignored. */
export function parseImaAsciiLog(text: string, opts: ImaAsciiOptions = {}): ImaEvent[] {
  const out: ImaEvent[] = [];
  let index = opts.firstIndex ?? 0;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    out.push(parseImaAsciiLine(line, index++, opts));
  }
  return out;
}
