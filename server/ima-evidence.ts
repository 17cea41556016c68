import { hash } from 'node:crypto';
import { ACS_ERROR, AcsError } from '../shared/protocol/errors.js';
import { HASH_ALGS, TPM_ALG, type HashAlg } from '../shared/tpm/constants.js';
import { EventLogError } from '../shared/eventlog/errors.js';
import type { ImaEvent } from '../shared/eventlog/ima-event.js';
import { decodeImaWireEvent } from '../shared/eventlog/ima-wire.js';
import { decodeImaTemplate, isViolation, templateHashInput } from '../shared/eventlog/ima-template.js';
import type { ImaKeyring } from '../shared/eventlog/ima-signature.js';

/**
 * How banks other than the template-hash bank were extended: 'per-bank' is
 * H_bank(template data), what Linux 5.8+ and IBM ACS do; 'sha1-padded' is the
 * SHA-1 template hash zero-padded to the bank size, what older kernels did.
 */
export type ImaBankRule = 'per-bank' | 'sha1-padded';

/** One received IMA event with its IBM imalog verdicts. */
export interface CheckedImaEvent {
  event: ImaEvent;
  index: number;
  pcrIndex: number;
  wire: Buffer;
  templateName: string;
  filename: string;
  filehash: string | null;
  templateHashAlg: HashAlg;
  violation: boolean;
  /** Template hash does not match the template data, or the data does not parse. */
  badevent: boolean;
  nosig: boolean;
  nokey: boolean;
  badsig: boolean;
}

export interface CheckedImaEvents {
  events: CheckedImaEvent[];
}

/**
 * Parses the `imaevent<N>` members and judges each event: template hash
 * (H(template data), or H(digest || name padded) for the 'ima' template) and
 * the ima-sig signature against the configured keys. An event whose outer
 * structure does not parse cannot be replayed and refuses the quote (9000001f).
 */
export function checkImaEvents(wire: Buffer[], firstIndex: number, templateHashAlgId: number | undefined, keys: ImaKeyring): CheckedImaEvents {
  const alg = HASH_ALGS.get(templateHashAlgId ?? TPM_ALG.SHA1)?.name;
  if (!alg) throw new AcsError(ACS_ERROR.BAD_ALGORITHM, `templatehashalg 0x${(templateHashAlgId ?? 0).toString(16)} not supported`);
  const events = wire.map((bytes, i): CheckedImaEvent => {
    let ev: ImaEvent;
    try {
      ev = decodeImaWireEvent(bytes, firstIndex + i, templateHashAlgId);
    } catch (e) {
      if (e instanceof EventLogError) throw new AcsError(ACS_ERROR.BAD_BLOB, `imaevent${firstIndex + i}: ${e.message}`);
      throw e;
    }
    const violation = isViolation(ev);
    let filename = '';
    let filehash: string | null = null;
    let badevent = false;
    let sig: ReturnType<ImaKeyring['verifyEvent']> = 'nosig';
    try {
      const info = decodeImaTemplate(ev);
      filename = info.fileName ?? (info.buffer ? `(buffer ${info.buffer.length} bytes)` : '');
      filehash = info.fileDigest ? `${info.fileDigest.alg}:${info.fileDigest.digest.toString('hex')}` : null;
      badevent = !violation && !hash(alg, templateHashInput(ev), 'buffer').equals(ev.templateHash);
      sig = keys.verifyEvent(info);
    } catch (e) {
      if (!(e instanceof EventLogError)) throw e;
      badevent = true;
    }
    return {
      event: ev,
      index: ev.index,
      pcrIndex: ev.pcrIndex,
      wire: bytes,
      templateName: ev.templateName,
      filename,
      filehash,
      templateHashAlg: alg,
      violation,
      badevent,
      nosig: sig === 'nosig',
      nokey: sig === 'nokey',
      badsig: sig === 'badsig',
    };
  });
  return { events };
}

const FF = new Map<number, Buffer>();
function ff(size: number, fill: number): Buffer {
  const key = size * 1000 + fill;
  let b = FF.get(key);
  if (!b) {
    b = Buffer.alloc(size);
    b.fill(0xff, 0, fill);
    FF.set(key, b);
  }
  return b;
}

function sizeOf(alg: HashAlg): number {
  for (const h of HASH_ALGS.values()) if (h.name === alg) return h.size;
  throw new RangeError(`unknown bank ${alg}`);
}

/**
 * The digest IMA extended into PCR 10 of `bank` for this event. Violations
 * extend all-0xFF (per-bank) or 0xFF×20 padded with zeros (old kernels); the
 * template-hash bank takes the logged hash as is.
 */
export function imaExtendDigest(ev: CheckedImaEvent, bank: HashAlg, rule: ImaBankRule): Buffer {
  const size = sizeOf(bank);
  if (ev.violation) return ff(size, rule === 'per-bank' || bank === ev.templateHashAlg ? size : 20);
  if (bank === ev.templateHashAlg) return ev.event.templateHash;
  if (rule === 'per-bank') return hash(bank, templateHashInput(ev.event), 'buffer');
  const out = Buffer.alloc(size);
  ev.event.templateHash.copy(out, 0, 0, Math.min(size, ev.event.templateHash.length));
  return out;
}
