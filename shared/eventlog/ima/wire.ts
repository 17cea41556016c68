/**
 * IBM ACS wire form of IMA events (the `imaevent<N>` members of a quote
 * request), big-endian:
 *   pcrIndex u32 | template hash alg u16 (TPM_ALG_ID) | template hash |
 *   name length u32 | name | template data length u32 | template data
 * The template data stays as the kernel logged it (inner lengths
 * little-endian), and the 'ima' template gets a data length too. Older IBM
 * clients sent no algorithm field (SHA-1 hashes); that form is accepted when
 * the request has no `templatehashalg`.
 */
import { BufferReader, BufferWriter, MarshalError } from '../../tpm/buffer.js';
import { HASH_ALGS, TPM_ALG, hashAlgId, type HashAlg } from '../../tpm/constants.js';
import { EventLogError } from '../errors.js';
import type { ImaEvent } from './event.js';

const MAX_NAME = 255;

/** `templateHashAlg` undefined writes the older form without the algorithm field. */
export function encodeImaWireEvent(ev: ImaEvent, templateHashAlg?: HashAlg): Buffer {
  const name = Buffer.from(ev.templateName, 'latin1');
  const w = new BufferWriter(18 + ev.templateHash.length + name.length + ev.templateData.length);
  w.u32(ev.pcrIndex);
  if (templateHashAlg !== undefined) w.u16(hashAlgId(templateHashAlg));
  return w.bytes(ev.templateHash).u32(name.length).bytes(name).u32(ev.templateData.length).bytes(ev.templateData).finish();
}

/** The event and the TPM_ALG_ID of its template hash. */
function decode(bytes: Uint8Array, index: number, withAlg: boolean): [ImaEvent, number] {
  const r = new BufferReader(bytes);
  const pcrIndex = r.u32('pcrIndex');
  let alg: number = TPM_ALG.SHA1;
  let size = 20;
  if (withAlg) {
    alg = r.u16('template hash alg');
    const h = HASH_ALGS.get(alg);
    if (!h) throw new EventLogError(`unsupported template hash algorithm 0x${alg.toString(16).padStart(4, '0')}`);
    size = h.size;
  }
  const templateHash = r.bytes(size, 'template hash');
  const nameLen = r.u32('name length');
  if (nameLen === 0 || nameLen > MAX_NAME) throw new EventLogError(`template name length ${nameLen} out of range`);
  const templateName = r.bytes(nameLen, 'template name').toString('latin1');
  const dataLen = r.u32('template data length');
  if (dataLen > r.remaining) throw new EventLogError(`template data length ${dataLen} exceeds the remaining ${r.remaining} bytes`);
  const templateData = r.bytes(dataLen, 'template data');
  r.done('IMA event');
  return [{ index, pcrIndex, templateHash, templateName, templateData, littleEndian: true }, alg];
}

/**
 * Parses one `imaevent<index>` value. `templateHashAlg` is the request's
 * `templatehashalg` (TPM_ALG_ID); when it is absent the event may be in either
 * form, and the one that consumes the bytes exactly wins.
 */
export function decodeImaWireEvent(bytes: Uint8Array, index: number, templateHashAlg?: number): ImaEvent {
  try {
    if (templateHashAlg !== undefined) {
      const [ev, alg] = decode(bytes, index, true);
      if (alg !== templateHashAlg) {
        throw new EventLogError(`template hash algorithm 0x${alg.toString(16)} differs from templatehashalg 0x${templateHashAlg.toString(16)}`);
      }
      return ev;
    }
    try {
      return decode(bytes, index, true)[0];
    } catch {
      return decode(bytes, index, false)[0];
    }
  } catch (e) {
    if (e instanceof MarshalError || (e instanceof EventLogError && e.eventIndex === undefined)) {
      throw new EventLogError(e instanceof EventLogError ? e.detail : e.message, undefined, index);
    }
    throw e;
  }
}
