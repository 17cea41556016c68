/**
 * A fleet whose files look like a real fleet's, for measuring the searches:
 * every machine boots `boots` times; each boot's IMA log measures the core
 * files every machine runs (the same path everywhere, in one of a few
 * versions, most machines on the first) and a machine-specific tail drawn
 * from a larger pool; later boots update a few files. One firmware log per
 * boot, in one of three firmware versions (PCR 0 and one event's digest
 * differ between them). Written through the Store API, one transaction per
 * machine, with the store's multi-row INSERTs.
 */
import { createHash } from 'node:crypto';
import type { BiosEventRow, ImaEventRow, PcrBanks, Store } from '../../db/store.js';
import { bootTime, captureCertificates, firmwareRows } from '../helpers/web-seed.js';

export interface SearchFleetSize {
  machines: number;
  boots: number;
  /** IMA entries per boot. */
  entriesPerBoot: number;
}

const DAY = 86_400_000;
/** Core files: measured by every machine in every boot. */
export const CORE_FILES = 600;
/** The pool machine-specific files come from. */
const POOL_FILES = 20_000;
/** Incremental reports per boot after the full one. */
const INCREMENTAL = 4;
/** The firmware event whose digest tells firmware versions apart (an EV_ACTION of PCR 4 in the sample log). */
export const FIRMWARE_MARK_EVENT = 18;

export const hex = (seed: string, bytes = 32) => createHash('sha512').update(seed).digest('hex').slice(0, bytes * 2);
export const searchHost = (i: number) => `fleet-${String(i).padStart(5, '0')}.example.net`;

/** Path of core file n; n = 0 is sshd, the file whose copies differ on some machines. */
export function corePath(n: number): string {
  if (n === 0) return '/usr/sbin/sshd';
  const dirs = ['/usr/bin/', '/usr/lib/x86_64-linux-gnu/', '/usr/lib/systemd/', '/usr/libexec/', '/usr/lib/python3/dist-packages/'];
  return `${dirs[n % dirs.length]}core-${n}${n % 3 === 0 ? '.so.1' : ''}`;
}

export function poolPath(n: number): string {
  return `/opt/vendor-${n % 97}/lib/module-${n}.so`;
}

/** The version of core file n on machine i in boot b: 80 % of machines on 0, then 1 and 2; boot 2+ updates every 50th file. */
export function coreVersion(n: number, i: number, b: number): number {
  const base = (i * 7 + n) % 20 < 16 ? 0 : (i + n) % 20 < 18 ? 1 : 2;
  return b >= 2 && n % 50 === 1 ? base + 10 : base;
}

export const fileHash = (path: string, version: number) => hex(`${path} v${version}`);
export const firmwareVersion = (i: number) => i % 3;
export const pcr0Of = (version: number) => hex(`firmware ${version} pcr0`);
export const firmwareMarkOf = (version: number) => hex(`firmware ${version} bootloader`);

function pcrs(i: number, b: number): PcrBanks {
  return {
    sha256: Array.from({ length: 24 }, (_, p) => (p === 0 ? pcr0Of(firmwareVersion(i)) : p <= 9 ? hex(`pcr ${p}`) : p === 10 ? hex(`ima ${i} ${b}`) : null)),
    sha1: Array.from({ length: 24 }, () => null),
  };
}

/** Boot b of machine i: its boot time and the IMA entries' (path, digest). */
export function bootFiles(i: number, b: number, entries: number): { path: string; hash: string }[] {
  const out: { path: string; hash: string }[] = [];
  for (let n = 0; n < Math.min(CORE_FILES, entries); n++) out.push({ path: corePath(n), hash: fileHash(corePath(n), coreVersion(n, i, b)) });
  for (let k = 0; out.length < entries; k++) {
    const n = (i * 7919 + k * 104_729) % POOL_FILES;
    out.push({ path: poolPath(n), hash: fileHash(poolPath(n), 0) });
  }
  return out;
}

export function bootTimeOf(now: Date, size: SearchFleetSize, b: number): string {
  return bootTime(new Date(now.getTime() - (size.boots - b) * 7 * DAY));
}

/** Seeds machines [from, size.machines); returns the IMA rows written. */
export async function seedSearchFleet(store: Store, size: SearchFleetSize, now: Date, from: number, progress: (done: number, rows: number) => void): Promise<number> {
  const certs = captureCertificates();
  const firmware = firmwareRows('acs_tpm2bios.bin', 0, 0, '', now);
  const imaEntry = hex('ima entry', 100);
  let rows = 0;
  for (let i = from; i < size.machines; i++) {
    const hostname = searchHost(i);
    await store.transaction(async (tx) => {
      const id = await tx.insertMachine({
        hostname, tpmvendor: 'IBM ', challenge: null, challengeExpires: null, ekcertificatepem: certs.ekPem, ekcertificatetext: certs.ekText,
        ekFingerprint: hex(`ek ${i}`), ekAlg: 'rsa2048', attestpub: certs.akpub, akName: `000b${hex(`ak ${i}`)}`, akAlg: 'rsa',
        pendingAttestpub: null, pendingAkName: null, pendingAkAlg: null, pendingEkcertificatepem: null, pendingTpmvendor: null,
        akcertificatepem: certs.akPem, akcertificatetext: certs.akText, enrolled: new Date(now.getTime() - (size.boots + 1) * 7 * DAY),
        boottime: null, imaevents: null, imapcr: null, imapcrSha1: null, whitelist: pcrs(i, 0), resetCount: null, restartCount: null,
      });
      const bios: BiosEventRow[] = [];
      const events: ImaEventRow[] = [];
      let boottime = '';
      for (let b = 0; b < size.boots; b++) {
        boottime = bootTimeOf(now, size, b);
        const files = bootFiles(i, b, size.entriesPerBoot);
        for (let r = 0; r <= INCREMENTAL; r++) {
          const at = new Date(Date.parse(`${boottime.replace(' ', 'T')}Z`) + (r + 1) * 3_600_000 + (i % 3600) * 1000);
          const aid = await tx.insertAttestation({
            machineId: id, hostname, userid: 'root', boottime, timestamp: new Date(at.getTime() - 1000), nonce: hex(`nonce ${i} ${b} ${r}`),
            nonceExpires: new Date(at.getTime() + 300_000), pcrselect: '00000002000b03ff0700000403000000', biosentry: r === 0 ? 0 : -1,
            imaentry: r === 0 ? 0 : files.length, newBoot: r === 0,
          });
          await tx.updateAttestation(aid, {
            quote: '{}', quoted: at, resetCount: b, restartCount: 0, quoteverified: true, logverified: true, imaver: true, imasigver: false,
            badimalog: false, pcrschanged: r === 0 && b > 0, pcrinvalid: false, errorCode: null, errorMessage: null, pcrs: pcrs(i, b),
            logentries: r === 0 ? firmware.length : null, imaevents: files.length,
          });
          if (r > 0) continue;
          const version = firmwareVersion(i);
          bios.push(...firmware.map((e) => ({
            ...e, machineId: id, attestationId: aid, hostname, timestamp: at,
            ...(e.entrynum === FIRMWARE_MARK_EVENT ? { pcrsha256: firmwareMarkOf(version) } : {}),
          })));
          files.forEach((f, entrynum) => events.push({
            machineId: id, attestationId: aid, hostname, boottime, timestamp: at, entrynum, imaEntry, filename: f.path, template: 'ima-ng',
            filehash: `sha256:${f.hash}`, badevent: false, nosig: true, nokey: false, badsig: false, refused: false,
          }));
        }
      }
      await tx.insertBiosEvents(bios);
      await tx.insertImaEvents(events);
      await tx.updateMachine(id, { boottime, imaevents: size.entriesPerBoot });
      rows += events.length;
    });
    progress(i + 1, rows);
  }
  return rows;
}
