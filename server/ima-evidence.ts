/**
 * The IMA events of a quote request: parsed, with signatures judged against
 * the configured IMA keys.
 */
import { ACS_ERROR, AcsError } from '../shared/protocol/errors.js';
import { HASH_ALGS, TPM_ALG } from '../shared/tpm/constants.js';
import { EventLogError } from '../shared/eventlog/errors.js';
import type { ImaEvent } from '../shared/eventlog/ima/event.js';
import { decodeImaWireEvent } from '../shared/eventlog/ima/wire.js';
import { decodeImaTemplate } from '../shared/eventlog/ima/template.js';
import type { ImaKeyring } from '../shared/eventlog/ima/signature.js';
import type { CheckedImaEvent, CheckedImaEvents } from './verify/evidence.js';

/**
 * Parses the `imaevent<N>` members and judges each event's ima-sig signature
 * against the configured keys. An event whose outer structure does not parse
 * cannot be replayed and refuses the quote (9000001f); the template-hash check
 * happens during the replay, which hashes the template data anyway.
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
    let filename = '';
    let filehash: string | null = null;
    let badevent = false;
    let sig: ReturnType<ImaKeyring['verifyEvent']> = 'nosig';
    try {
      const info = decodeImaTemplate(ev);
      filename = info.fileName ?? (info.buffer ? `(buffer ${info.buffer.length} bytes)` : '');
      filehash = info.fileDigest ? `${info.fileDigest.alg}:${info.fileDigest.digest.toString('hex')}` : null;
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
      badevent,
      nosig: sig === 'nosig',
      nokey: sig === 'nokey',
      badsig: sig === 'badsig',
    };
  });
  return { events };
}
