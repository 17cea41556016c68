/**
 * A large fleet for measuring the web UI, written through the Store API in
 * one transaction per machine with the store's batched event inserts:
 * machines with real EK/AK certificates, attestations every 15 minutes with
 * a new boot (and its firmware log) every 25, refused and off-white-list
 * reports, stale and never-attested machines, and the real IBM ACS IMA log
 * repeated. One "busy" machine carries a 100,000-entry boot, the worst case
 * of the IMA page.
 */
import { createHash } from 'node:crypto';
import type { AttestationPatch, BiosEventRow, ImaEventRow, PcrBanks, Store } from '../../db/store.js';
import { acsImaEntries, bootTime, captureCertificates, firmwareRows } from '../helpers/web-seed.js';

export interface WebFleetSize {
  machines: number;
  attestations: number;
  imaEvents: number;
}

export interface WebFleet {
  /** The machine with the big boot, and one ordinary machine. */
  busy: string;
  typical: string;
  /** Attestations and IMA rows actually written. */
  attestations: number;
  imaEvents: number;
  biosEvents: number;
}

const MINUTE = 60_000;
/** Attestations per boot: each boot starts with a full attestation carrying the firmware log. */
const BOOT_EVERY = 25;
/** The busy machine's last boot. */
const BUSY_BOOT_ENTRIES = 100_000;

const hex = (seed: string, bytes = 32) => createHash('sha512').update(seed).digest('hex').slice(0, bytes * 2);

function pcrs(seed: string, changedPcr?: number): PcrBanks {
  return {
    sha256: Array.from({ length: 24 }, (_, i) => (i <= 10 ? hex(`${i === changedPcr ? 'changed ' : ''}${seed}/${i}`) : null)),
    sha1: Array.from({ length: 24 }, () => null),
  };
}

export const hostnameOf = (i: number) => `bench-${String(i).padStart(4, '0')}.example.com`;

/** The kind of machine i is: every 100th never attested, every 20th stale, every 50th off its white list at the end. */
function kindOf(i: number): 'never' | 'stale' | 'offlist' | 'normal' {
  if (i % 100 === 99) return 'never';
  if (i % 20 === 3) return 'stale';
  if (i % 50 === 7) return 'offlist';
  return 'normal';
}

/** How one attestation ended: about 1 in 20 refused, the last three of an off-list machine pcrinvalid. */
function outcome(i: number, j: number, count: number, base: PcrBanks, seed: string): AttestationPatch {
  const verified: AttestationPatch = {
    quoteverified: true, logverified: true, imaver: true, imasigver: false, badimalog: j % BOOT_EVERY === 0, pcrschanged: false,
    pcrinvalid: false, errorCode: null, errorMessage: null, pcrs: { ...base, sha256: base.sha256.map((v, p) => (p === 10 ? hex(`${seed}/10/${j}`) : v)) },
  };
  if ((i * 7 + j) % 20 === 0 && j % BOOT_EVERY !== 0) {
    return j % 2
      ? { quoteverified: false, errorCode: '90000010', errorMessage: 'the quote signature does not verify with the enrolled AK' }
      : { quoteverified: true, logverified: false, errorCode: '90000020', errorMessage: 'sha256 PCR 10 replayed from the IMA log differs from the quote' };
  }
  if (kindOf(i) === 'offlist' && j >= count - 3) return { ...verified, pcrinvalid: true, pcrschanged: j === count - 3, pcrs: pcrs(seed, 7) };
  return verified;
}

/**
 * Seeds the fleet: `size.attestations` spread evenly over the attesting
 * machines (the busy one takes the never-attested machines' share) and
 * `size.imaEvents` IMA rows, 100,000 of them in the busy machine's last boot.
 */
export async function seedWebFleet(store: Store, size: WebFleetSize, now: Date, progress: (done: number) => void): Promise<WebFleet> {
  const certs = captureCertificates();
  const ima = acsImaEntries();
  const firmware = firmwareRows('acs_tpm2bios.bin', 0, 0, '', now);
  const secureBootFirmware = firmwareRows('keylime_binary_bios_measurements_secureboot.bin', 0, 0, '', now);
  const perMachine = Math.floor(size.attestations / size.machines);
  const never = Array.from({ length: size.machines }, (_, i) => i).filter((i) => kindOf(i) === 'never').length;
  const busyAttestations = size.attestations - perMachine * (size.machines - 1 - never);
  const busyBootEntries = Math.min(BUSY_BOOT_ENTRIES, Math.floor(size.imaEvents / 2));
  // The rest of the IMA entries, spread over every other boot's first attestation.
  const otherBoots = (size.machines - 1 - never) * Math.ceil(perMachine / BOOT_EVERY) + Math.ceil(busyAttestations / BOOT_EVERY) - 1;
  const perBoot = Math.max(1, Math.floor((size.imaEvents - busyBootEntries) / Math.max(1, otherBoots)));
  const totals = { attestations: 0, imaEvents: 0, biosEvents: 0 };

  for (let i = 0; i < size.machines; i++) {
    const hostname = hostnameOf(i);
    const kind = kindOf(i);
    const count = kind === 'never' ? 0 : i === 0 ? busyAttestations : perMachine;
    const seed = `machine ${i}`;
    const base = pcrs(seed);
    const lastAt = now.getTime() - (kind === 'stale' ? 3 * 24 * 60 : i % 15) * MINUTE;
    await store.transaction(async (tx) => {
      const id = await tx.insertMachine({
        hostname, tpmvendor: 'IBM ', challenge: null, challengeExpires: null, ekcertificatepem: certs.ekPem, ekcertificatetext: certs.ekText,
        ekFingerprint: hex(`ek ${i}`), ekAlg: 'rsa2048', attestpub: certs.akpub, akName: `000b${hex(`ak ${i}`)}`, akAlg: 'rsa',
        pendingAttestpub: null, pendingAkName: null, pendingAkAlg: null, pendingEkcertificatepem: null, pendingTpmvendor: null,
        akcertificatepem: certs.akPem, akcertificatetext: certs.akText, enrolled: new Date(lastAt - (count + 1) * 15 * MINUTE),
        boottime: null, imaevents: null, imapcr: null, imapcrSha1: null, whitelist: count ? base : null, resetCount: null, restartCount: null,
      });
      let boottime = '';
      let next = 0;
      const bios: BiosEventRow[] = [];
      const events: ImaEventRow[] = [];
      for (let j = 0; j < count; j++) {
        const at = new Date(lastAt - (count - 1 - j) * 15 * MINUTE);
        const newBoot = j % BOOT_EVERY === 0;
        const lastBoot = j >= Math.floor((count - 1) / BOOT_EVERY) * BOOT_EVERY;
        if (newBoot) (boottime = bootTime(new Date(at.getTime() - 2 * MINUTE))), (next = 0);
        const aid = await tx.insertAttestation({
          machineId: id, hostname, userid: 'root', boottime, timestamp: new Date(at.getTime() - 1000), nonce: hex(`nonce ${i} ${j}`),
          nonceExpires: new Date(at.getTime() + 5 * MINUTE), pcrselect: '00000002000b03ff0700000403000000',
          biosentry: newBoot ? 0 : -1, imaentry: next, newBoot,
        });
        const entries = newBoot ? (i === 0 && lastBoot ? busyBootEntries : perBoot) : 0;
        const quote = JSON.stringify({ command: 'quote', hostname, quoted: `ff544347${hex(`quoted ${aid}`, 60)}`, signature: `0014000b0100${hex(`sig ${aid}`, 256)}` });
        const result = outcome(i, j, count, base, seed);
        await tx.updateAttestation(aid, {
          quote, quoted: at, resetCount: 3, restartCount: 0, logentries: newBoot ? firmware.length : null, imaevents: result.errorCode ? null : next + entries, ...result,
        });
        if (newBoot) {
          const log = i === 0 ? secureBootFirmware : firmware;
          bios.push(...log.map((e) => ({ ...e, machineId: id, attestationId: aid, hostname, timestamp: at })));
        }
        for (let k = 0; k < entries; k++, next++) {
          const e = ima[next % ima.length]!;
          events.push({
            machineId: id, attestationId: aid, hostname, boottime, timestamp: at, entrynum: next, imaEntry: e.imaEntry, filename: e.filename,
            template: e.template, filehash: e.filehash, badevent: e.badevent, nosig: e.nosig, nokey: e.nokey, badsig: e.badsig, refused: false,
          });
        }
      }
      await tx.insertBiosEvents(bios);
      await tx.insertImaEvents(events);
      if (count) await tx.updateMachine(id, { boottime, imaevents: next });
      totals.attestations += count;
      totals.imaEvents += events.length;
      totals.biosEvents += bios.length;
    });
    progress(i + 1);
  }
  return { busy: hostnameOf(0), typical: hostnameOf(1), ...totals };
}
