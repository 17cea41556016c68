/**
 * IMA template data: the field lists of the built-in templates
 * (security/integrity/ima/ima_template.c), custom templates named by their
 * field list ("d-ng|sig"), field decoding, the template-hash input and
 * violations. Template data of every template but 'ima' is a sequence of
 * (u32 length, bytes) fields in the log's byte order.
 */
import { BufferReader } from '../../tpm/buffer.js';
import { EventLogError } from '../errors.js';
import type { ImaEvent } from './event.js';

const BUILTIN_TEMPLATES: Record<string, readonly string[]> = {
  ima: ['d', 'n'],
  'ima-ng': ['d-ng', 'n-ng'],
  'ima-ngv2': ['d-ngv2', 'n-ng'],
  'ima-sig': ['d-ng', 'n-ng', 'sig'],
  'ima-sigv2': ['d-ngv2', 'n-ng', 'sig'],
  'ima-buf': ['d-ng', 'n-ng', 'buf'],
  'ima-modsig': ['d-ng', 'n-ng', 'sig', 'd-modsig', 'modsig'],
  'evm-sig': ['d-ng', 'n-ng', 'evmsig', 'xattrnames', 'xattrlengths', 'xattrvalues', 'iuid', 'igid', 'imode'],
};

/** Template field identifiers the kernel defines (supported_fields[] in ima_template.c). */
export const IMA_FIELD_IDS: ReadonlySet<string> = new Set([
  'd', 'n', 'd-ng', 'd-ngv2', 'n-ng', 'sig', 'buf', 'd-modsig', 'modsig', 'evmsig',
  'xattrnames', 'xattrlengths', 'xattrvalues', 'iuid', 'igid', 'imode',
]);

const customCache = new Map<string, readonly string[] | null>();

/** The field ids of a template, or null when the name is neither built in nor a field list. */
export function templateFieldIds(name: string): readonly string[] | null {
  const builtin = BUILTIN_TEMPLATES[name];
  if (builtin) return builtin;
  let ids = customCache.get(name);
  if (ids === undefined) {
    const parts = name.split('|');
    ids = parts.every((p) => IMA_FIELD_IDS.has(p)) ? parts : null;
    if (customCache.size < 256) customCache.set(name, ids);
  }
  return ids;
}

export interface ImaTemplateField {
  /** The field id, or null for templates whose field list is unknown. */
  id: string | null;
  data: Buffer;
}

/** A file digest field: d ("", 20 bytes), d-ng ("sha256:\0" + digest) or d-ngv2 ("ima:sha256:\0" + digest). */
export interface ImaDigest {
  /** d-ngv2 digest type ("ima", "verity"); undefined otherwise. */
  type?: string;
  /** Kernel hash_algo_name ("sha1", "sha256", "sm3", …); "sha1" for the legacy 'd' field. */
  alg: string;
  digest: Buffer;
}

export interface ImaTemplateInfo {
  fields: ImaTemplateField[];
  fileDigest?: ImaDigest;
  fileName?: string;
  /** The 'sig' field when not empty (an IMA xattr signature). */
  signature?: Buffer;
  /** The 'buf' field (ima-buf: keys, kernel command line, …). */
  buffer?: Buffer;
  modsigDigest?: ImaDigest;
  modsig?: Buffer;
}

/** Splits template data into fields; throws EventLogError when a length runs past the data. */
export function templateFields(ev: ImaEvent): ImaTemplateField[] {
  const d = ev.templateData;
  if (ev.templateName === 'ima') {
    if (d.length < 24) throw new EventLogError("short 'ima' template data", undefined, ev.index);
    return [{ id: 'd', data: d.subarray(0, 20) }, { id: 'n', data: d.subarray(24) }];
  }
  const ids = templateFieldIds(ev.templateName);
  const out: ImaTemplateField[] = [];
  const r = new BufferReader(d);
  while (r.remaining > 0) {
    if (r.remaining < 4) throw new EventLogError('truncated template field length', undefined, ev.index);
    const len = ev.littleEndian ? r.u32le() : r.u32();
    if (len > r.remaining) throw new EventLogError(`template field length ${len} runs past the data`, undefined, ev.index);
    out.push({ id: ids ? (ids[out.length] ?? null) : null, data: r.bytes(len) });
  }
  if (ids && out.length !== ids.length) {
    throw new EventLogError(`template ${ev.templateName} has ${out.length} fields, expected ${ids.length}`, undefined, ev.index);
  }
  return out;
}

/** Parses d / d-ng / d-ngv2 / d-modsig field data (ima_template_lib.c, ima_eventdigest_init_common). */
export function parseDigestField(id: string, data: Buffer): ImaDigest {
  if (id === 'd') return { alg: 'sha1', digest: data };
  const nul = data.indexOf(0);
  if (nul < 1 || data[nul - 1] !== 0x3a /* ':' */) throw new EventLogError(`malformed ${id} field`);
  const prefix = data.toString('latin1', 0, nul - 1).split(':');
  const digest = data.subarray(nul + 1);
  // Early kernels left the name out for SHA-1 and MD5 digests (":\0" + digest).
  const alg = prefix.pop() || (digest.length === 16 ? 'md5' : 'sha1');
  return { type: prefix[0], alg, digest };
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

/** The fields of an event with the well-known ones decoded. */
export function decodeImaTemplate(ev: ImaEvent): ImaTemplateInfo {
  const fields = templateFields(ev);
  const info: ImaTemplateInfo = { fields };
  for (const { id, data } of fields) {
    switch (id) {
      case 'd':
      case 'd-ng':
      case 'd-ngv2':
        info.fileDigest = parseDigestField(id, data);
        break;
      case 'n':
      case 'n-ng':
        info.fileName = cString(data);
        break;
      case 'sig':
        if (data.length > 0) info.signature = data;
        break;
      case 'buf':
        info.buffer = data;
        break;
      case 'd-modsig':
        if (data.length > 0) info.modsigDigest = parseDigestField(id, data);
        break;
      case 'modsig':
        if (data.length > 0) info.modsig = data;
        break;
    }
  }
  return info;
}

/** IMA violation (ima_add_violation): the logged template hash is all zeros; the PCR got all 0xFF. */
export function isViolation(ev: ImaEvent): boolean {
  const h = ev.templateHash;
  for (let i = 0; i < h.length; i++) if (h[i] !== 0) return false;
  return true;
}

/** IMA_EVENT_NAME_LEN_MAX + 1: the 'ima' template hashes the name zero-padded to this size. */
const IMA_NAME_HASH_LEN = 256;

/**
 * The bytes whose hash is the template hash (ima_calc_field_array_hash_tfm):
 * the template data itself, except for 'ima', which hashes its 20-byte digest
 * followed by the file name zero-padded to 256 bytes.
 */
export function templateHashInput(ev: ImaEvent): Buffer {
  if (ev.templateName !== 'ima') return ev.templateData;
  const d = ev.templateData;
  const name = d.subarray(24);
  const out = Buffer.alloc(20 + Math.max(IMA_NAME_HASH_LEN, name.length));
  d.copy(out, 0, 0, 20);
  name.copy(out, 20);
  return out;
}
