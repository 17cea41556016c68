/**
 * Measurement logs with chosen contents, for tests that need to know which
 * files and firmware events each boot holds: an ima-ng binary log of given
 * (path, SHA-256 file digest) pairs, and IBM's sample firmware log with one
 * event's digests altered (a different component measured at that point).
 * Both are files a real client reads and a real swtpm is extended with.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { ImaEvent } from '../../shared/eventlog/ima/event.js';
import { parseFirmwareLog } from '../../shared/eventlog/firmware/event.js';
import { IMA_PCR } from '../../shared/tpm/pcr-roles.js';
import { imaBinaryLog } from '../bench/ima-log.js';
import { BIOS_LOG } from './attested-host.js';

export interface MeasuredFile {
  path: string;
  /** SHA-256 of the file, hex. */
  sha256: string;
}

/** A stand-in SHA-256 file digest for a label. */
export function fileDigest(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

function lengthPrefixed(data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(data.length);
  return Buffer.concat([len, data]);
}

/** ima-ng entries (d-ng "sha256:" digest, n-ng name; ima_template_lib.c) with SHA-1 template hashes, little-endian. */
export async function writeImaFiles(path: string, files: readonly MeasuredFile[]): Promise<void> {
  const events: ImaEvent[] = files.map((f, index) => {
    const digest = Buffer.concat([Buffer.from('sha256:\0', 'latin1'), Buffer.from(f.sha256, 'hex')]);
    const templateData = Buffer.concat([lengthPrefixed(digest), lengthPrefixed(Buffer.from(`${f.path}\0`, 'utf8'))]);
    return {
      index,
      pcrIndex: IMA_PCR,
      templateHash: createHash('sha1').update(templateData).digest(),
      templateName: 'ima-ng',
      templateData,
      littleEndian: true,
    };
  });
  await writeFile(path, imaBinaryLog(events));
}

export interface AlteredEvent {
  entrynum: number;
  before: { sha1: string; sha256: string };
  after: { sha1: string; sha256: string };
}

/** Writes BIOS_LOG with event `entrynum`'s SHA-1 and SHA-256 digests altered (last byte flipped). */
export async function writeAlteredFirmwareLog(path: string, entrynum: number): Promise<AlteredEvent> {
  const bytes = await readFile(BIOS_LOG);
  const ev = parseFirmwareLog(bytes).events[entrynum];
  if (!ev) throw new Error(`the sample firmware log has no event ${entrynum}`);
  const digestOf = (alg: number) => {
    const d = ev.digests.find((x) => x.alg === alg);
    if (!d) throw new Error(`event ${entrynum} has no digest of algorithm ${alg}`);
    return d.digest;
  };
  const [sha1, sha256] = [digestOf(0x0004), digestOf(0x000b)];
  const before = { sha1: sha1.toString('hex'), sha256: sha256.toString('hex') };
  // The parsed digests are views of `bytes`: flipping them edits the log in place.
  if (sha1.buffer !== bytes.buffer || sha256.buffer !== bytes.buffer) throw new Error('parsed digests are copies, not views of the log');
  sha1[sha1.length - 1]! ^= 0xff;
  sha256[sha256.length - 1]! ^= 0xff;
  await writeFile(path, bytes);
  return { entrynum, before, after: { sha1: sha1.toString('hex'), sha256: sha256.toString('hex') } };
}
