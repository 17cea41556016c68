import { frameParts } from '../shared/protocol/frame.js';
import { hashAlgId, type HashAlg } from '../shared/tpm/constants.js';

const CHUNK_CHARS = 1 << 20;

/**
 * Builds a quote request's JSON body piece by piece, in IBM's member order
 * (command, hostname, quoted, signature, event0…, templatehashalg,
 * imaevent<N>…), so a log of any length is encoded as it is read: the pieces
 * are joined into 1 MiB chunks, never into one string per event list.
 */
export class QuoteRequestBuilder {
  private readonly parts: string[] = [];
  private current: string;
  events = 0;
  imaEvents = 0;

  constructor(hostname: string, quoted: Buffer, signature: Buffer) {
    this.current = `{"command":"quote","hostname":${JSON.stringify(hostname)},"quoted":"${quoted.toString('hex')}","signature":"${signature.toString('hex')}"`;
  }

  private append(s: string): void {
    this.current += s;
    if (this.current.length >= CHUNK_CHARS) {
      this.parts.push(this.current);
      this.current = '';
    }
  }

  firmwareEvent(wire: Buffer): void {
    this.append(`,"event${this.events++}":"${wire.toString('hex')}"`);
  }

  templateHashAlg(alg: HashAlg): void {
    this.append(`,"templatehashalg":"${hashAlgId(alg).toString(16).padStart(4, '0')}"`);
  }

  imaEvent(index: number, wire: Buffer): void {
    this.imaEvents++;
    this.append(`,"imaevent${index}":"${wire.toString('hex')}"`);
  }

  /** The frame: length header, the JSON chunks, the trailing NUL. */
  frame(): Buffer[] {
    return frameParts([...this.parts, `${this.current}}`]);
  }
}
