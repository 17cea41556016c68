/**
 * A realistic fleet for the web UI tests, written through the Store API:
 * real EK/AK certificates (IBM ACS capture), real firmware logs (Secure Boot
 * on and off), the real IBM ACS IMA log with its statuses judged by the real
 * parsers and key (template-hash mismatch, unsigned, unknown key, bad
 * signature), and machines in every state.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AttestationPatch, ImaEventRow, PcrBanks, Store, StoreTx } from '../../db/store.js';
import { certificateText } from '../../shared/crypto/certificate-info.js';
import { describeEventData } from '../../shared/eventlog/firmware/event-data.js';
import { eventTypeName } from '../../shared/eventlog/firmware/event-types.js';
import { parseFirmwareLog } from '../../shared/eventlog/firmware/event.js';
import { encodeFirmwareWireEvents } from '../../shared/eventlog/firmware/wire.js';
import { parseImaBinaryLog } from '../../shared/eventlog/ima/event.js';
import { ImaKeyring } from '../../shared/eventlog/ima/signature.js';
import { decodeImaTemplate, isViolation, templateHashInput } from '../../shared/eventlog/ima/template.js';
import { encodeImaWireEvent } from '../../shared/eventlog/ima/wire.js';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import { readWireJson } from './acs-wire.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/eventlogs/', import.meta.url));

export const XSS_HOST = `<img src=x onerror=alert(1)>'; DROP TABLE machines; --`;
export const XSS_FILE = `/tmp/<script>alert("ima")</script>`;

export const HOSTS = {
  trusted: 'web-01.example.com',
  failing: 'db-02.example.com',
  offWhitelist: 'edge-03.example.com',
  stale: 'old-04.example.com',
  never: 'new-05.example.com',
  xss: XSS_HOST,
} as const;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** "YYYY-MM-DD HH:MM:SS" of a time, as hosts report their boot time. */
export function bootTime(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

function hex(seed: string, bytes = 32): string {
  return createHash('sha512').update(seed).digest('hex').slice(0, bytes * 2);
}

interface Certificates {
  ekPem: string;
  ekText: string;
  ekFingerprint: string;
  akPem: string;
  akText: string;
  akpub: string;
}

/** The EK (DER, NV padding cut at the DER length) and AK certificates of the IBM ACS capture. */
export function captureCertificates(): Certificates {
  const req = readWireJson('enroll-request.json') as { ekcert: string; akpub: string };
  const der = Buffer.from(req.ekcert, 'hex');
  const ek = new X509Certificate(der.subarray(0, 4 + der.readUInt16BE(2)));
  const ak = new X509Certificate((readWireJson('enrollcert-response.json') as { akcert: string }).akcert);
  const spki = ek.publicKey.export({ type: 'spki', format: 'der' });
  return {
    ekPem: ek.toString(), ekText: certificateText(ek), ekFingerprint: createHash('sha256').update(spki).digest('hex'),
    akPem: ak.toString(), akText: certificateText(ak), akpub: req.akpub,
  };
}

type BiosRows = Parameters<StoreTx['insertBiosEvents']>[0];

/** A firmware log file as the server stores it: wire hex, printable data, digests. */
export function firmwareRows(file: string, machineId: number, attestationId: number, hostname: string, at: Date): BiosRows {
  const log = parseFirmwareLog(readFileSync(`${FIXTURES}bios/${file}`));
  const wire = encodeFirmwareWireEvents(log);
  return log.events.map((ev, i) => ({
    machineId, attestationId, hostname, timestamp: at, entrynum: i, biosEntry: wire[i]!.toString('hex'), pcrindex: ev.pcrIndex,
    pcrsha1: ev.digests.find((d) => d.alg === TPM_ALG.SHA1)?.digest.toString('hex') ?? null,
    pcrsha256: ev.digests.find((d) => d.alg === TPM_ALG.SHA256)?.digest.toString('hex') ?? null,
    eventtype: eventTypeName(ev.eventType),
    event: describeEventData(ev),
    refused: false,
  }));
}

export interface ImaEntry {
  index: number;
  filename: string;
  template: string;
  filehash: string | null;
  imaEntry: string;
  badevent: boolean;
  nosig: boolean;
  nokey: boolean;
  badsig: boolean;
}

let imaCache: ImaEntry[] | undefined;

/** The IBM ACS sample IMA log (1083 entries) judged as the server judges it, with keys/imakey.der. */
export function acsImaEntries(): ImaEntry[] {
  if (imaCache) return imaCache;
  const keyring = new ImaKeyring([new X509Certificate(readFileSync(`${FIXTURES}keys/imakey.der`)).publicKey]);
  imaCache = parseImaBinaryLog(readFileSync(`${FIXTURES}ima/acs_imasig.bin`)).map((ev) => {
    const info = decodeImaTemplate(ev);
    const hashOk = isViolation(ev) || createHash('sha1').update(templateHashInput(ev)).digest().equals(ev.templateHash);
    const sig = keyring.verifyEvent(info);
    return {
      index: ev.index, filename: info.fileName ?? '', template: ev.templateName,
      filehash: info.fileDigest ? `${info.fileDigest.alg}:${info.fileDigest.digest.toString('hex')}` : null,
      imaEntry: encodeImaWireEvent(ev, 'sha1').toString('hex'),
      badevent: !hashOk, nosig: sig === 'nosig', nokey: sig === 'nokey', badsig: sig === 'badsig',
    };
  });
  return imaCache;
}

function imaRows(entries: ImaEntry[], machineId: number, attestationId: number, hostname: string, boottime: string, at: Date): ImaEventRow[] {
  return entries.map((e) => ({
    machineId, attestationId, hostname, boottime, timestamp: at, entrynum: e.index, imaEntry: e.imaEntry, filename: e.filename,
    template: e.template, filehash: e.filehash, badevent: e.badevent, nosig: e.nosig, nokey: e.nokey, badsig: e.badsig, refused: false,
  }));
}

function pcrs(seed: string, changedPcr?: number): PcrBanks {
  const v = (bank: string, i: number, bytes: number) => hex(`${i === changedPcr ? 'changed ' : ''}${seed}/${bank}/${i}`, bytes);
  return {
    sha256: Array.from({ length: 24 }, (_, i) => (i <= 10 ? v('sha256', i, 32) : null)),
    sha1: Array.from({ length: 24 }, () => null),
  };
}

const PASS: AttestationPatch = {
  quoteverified: true, logverified: true, imaver: true, imasigver: true, badimalog: false, pcrinvalid: false, pcrschanged: false,
  errorCode: null, errorMessage: null,
};

interface Attest {
  at: Date;
  boottime: string;
  newBoot: boolean;
  patch: AttestationPatch;
  firmware?: string;
  ima?: ImaEntry[];
  userid?: string;
}

export interface SeededMachine {
  hostname: string;
  id: number;
  /** Attestation ids, oldest first. */
  reports: number[];
}

/** Enrolls a machine and records its attestations, oldest first. */
export async function addMachine(store: Store, hostname: string, enrolled: Date, attests: Attest[], certs = captureCertificates()): Promise<SeededMachine> {
  return store.transaction(async (tx) => {
    const id = await tx.insertMachine({
      hostname, tpmvendor: 'IBM ', challenge: null, challengeExpires: null, ekcertificatepem: certs.ekPem, ekcertificatetext: certs.ekText,
      // The fleet shows IBM's captured certificates, but one EK is one enrolled hostname (machines_enrolled_ek_uq).
      ekFingerprint: hex(`ek ${hostname}`), ekAlg: 'rsa2048', attestpub: certs.akpub, akName: `000b${hex(`ak ${hostname}`)}`, akAlg: 'rsa',
      pendingAttestpub: null, pendingAkName: null, pendingAkAlg: null, pendingEkcertificatepem: null, pendingTpmvendor: null, akcertificatepem: certs.akPem, akcertificatetext: certs.akText,
      enrolled, boottime: null, imaevents: null, imapcr: null, imapcrSha1: null, whitelist: null, resetCount: null, restartCount: null,
    });
    const reports: number[] = [];
    let whitelist: PcrBanks | null = null;
    for (const [n, a] of attests.entries()) {
      const aid = await tx.insertAttestation({
        machineId: id, hostname, userid: a.userid ?? 'root', boottime: a.boottime, timestamp: new Date(a.at.getTime() - 1000),
        nonce: hex(`nonce ${hostname} ${n}`), nonceExpires: new Date(a.at.getTime() + 5 * 60_000), pcrselect: '00000002000b03ff0700000403000000',
        biosentry: a.newBoot ? 0 : -1, imaentry: a.ima?.[0]?.index ?? 0, newBoot: a.newBoot,
      });
      const quote = JSON.stringify({ command: 'quote', hostname, quoted: `ff544347${hex(`quoted ${aid}`, 60)}`, signature: `0014000b0100${hex(`sig ${aid}`, 64)}` });
      await tx.updateAttestation(aid, { quote, quoted: a.at, resetCount: 3, restartCount: 0, logentries: null, imaevents: null, ...a.patch });
      if (a.firmware) await tx.insertBiosEvents(firmwareRows(a.firmware, id, aid, hostname, a.at));
      if (a.ima) await tx.insertImaEvents(imaRows(a.ima, id, aid, hostname, a.boottime, a.at));
      if (a.patch.errorCode == null && whitelist === null && a.patch.pcrs) whitelist = a.patch.pcrs;
      reports.push(aid);
    }
    const last = attests[attests.length - 1];
    await tx.updateMachine(id, { whitelist, boottime: last?.boottime ?? null, imaevents: last?.patch.imaevents ?? null });
    return { hostname, id, reports };
  });
}

export interface SeededFleet {
  now: Date;
  machines: Record<keyof typeof HOSTS, SeededMachine>;
  /** Boot times of the trusted machine, oldest first. */
  boots: [string, string];
  /** A nonce issued to the never-attested machine whose quote never came. */
  pendingReport: number;
}

/** Six machines: trusted, failing (refused quote), off the white list, stale, never attested, and the hostile hostname. */
export async function seedFleet(store: Store, now = new Date()): Promise<SeededFleet> {
  const t = (ms: number) => new Date(now.getTime() - ms);
  const ima = acsImaEntries();
  const boot1 = bootTime(t(5 * DAY));
  const boot2 = bootTime(t(1 * DAY));
  const base = pcrs('fleet');
  const trusted = await addMachine(store, HOSTS.trusted, t(10 * DAY), [
    { at: t(5 * DAY - HOUR), boottime: boot1, newBoot: true, firmware: 'keylime_binary_bios_measurements_secureboot.bin', ima: ima.slice(0, 600),
      patch: { ...PASS, pcrs: base, logentries: 99, imaevents: 600 } },
    { at: t(4 * DAY), boottime: boot1, newBoot: false, ima: ima.slice(600), patch: { ...PASS, pcrs: base, imaevents: 1083, imasigver: false, badimalog: true } },
    { at: t(2 * HOUR), boottime: boot2, newBoot: true, firmware: 'keylime_binary_bios_measurements_secureboot.bin', ima: ima.slice(0, 100),
      patch: { ...PASS, pcrs: base, logentries: 99, imaevents: 100 } },
  ]);
  const failing = await addMachine(store, HOSTS.failing, t(9 * DAY), [
    { at: t(3 * HOUR), boottime: boot2, newBoot: true, firmware: 'goatt_ubuntu_2104_shielded_vm_no_secure_boot.bin', patch: { ...PASS, pcrs: pcrs('db'), logentries: 120 } },
    { at: t(HOUR), boottime: boot2, newBoot: false,
      patch: { quoteverified: true, logverified: false, errorCode: '90000020', errorMessage: 'sha256 PCR 7 replayed 5a1f… but the quote holds 9c04…' } },
  ]);
  const offWhitelist = await addMachine(store, HOSTS.offWhitelist, t(8 * DAY), [
    { at: t(6 * HOUR), boottime: boot2, newBoot: true, patch: { ...PASS, pcrs: pcrs('edge') } },
    { at: t(30 * 60_000), boottime: boot2, newBoot: true, patch: { ...PASS, pcrs: pcrs('edge', 7), pcrinvalid: true, pcrschanged: true } },
  ]);
  const stale = await addMachine(store, HOSTS.stale, t(30 * DAY), [
    { at: t(3 * DAY), boottime: bootTime(t(4 * DAY)), newBoot: true, patch: { ...PASS, pcrs: pcrs('old') } },
  ]);
  const never = await addMachine(store, HOSTS.never, t(HOUR), []);
  const pendingReport = await store.transaction((tx) =>
    tx.insertAttestation({
      machineId: never.id, hostname: HOSTS.never, userid: 'root', boottime: boot2, timestamp: t(10 * 60_000), nonce: hex('pending nonce'),
      nonceExpires: t(5 * 60_000), pcrselect: '00000002000b03ff0700000403000000', biosentry: 0, imaentry: 0, newBoot: true,
    }),
  );
  const xssEntries = ima.slice(1075).map((e, i) => (i === 0 ? { ...e, filename: XSS_FILE } : e));
  const xss = await addMachine(store, HOSTS.xss, t(7 * DAY), [
    { at: t(5 * HOUR), boottime: boot2, newBoot: true, userid: `<b>root</b>`,
      patch: { quoteverified: false, errorCode: '90000010', errorMessage: `<script>alert("msg")</script>` } },
    { at: t(4 * HOUR), boottime: boot2, newBoot: true, firmware: 'keylime_binary_bios_measurements_secureboot.bin', ima: xssEntries,
      patch: { ...PASS, pcrs: pcrs('xss'), logentries: 99, imaevents: 1083 } },
  ]);
  return { now, machines: { trusted, failing, offWhitelist, stale, never, xss }, boots: [boot1, boot2], pendingReport };
}

/** More machines, each with a passing and a refused report: for showing query counts do not grow with rows. */
export async function addFleetMachines(store: Store, count: number, now = new Date(), prefix = 'bulk'): Promise<void> {
  const certs = captureCertificates();
  for (let i = 0; i < count; i++) {
    const at = new Date(now.getTime() - (i + 1) * 60_000);
    await addMachine(store, `${prefix}-${String(i).padStart(3, '0')}.example.com`, new Date(now.getTime() - DAY), [
      { at: new Date(at.getTime() - HOUR), boottime: bootTime(new Date(now.getTime() - DAY)), newBoot: true, patch: { ...PASS, pcrs: pcrs(`bulk ${i}`) } },
      { at, boottime: bootTime(new Date(now.getTime() - DAY)), newBoot: false, patch: { quoteverified: false, errorCode: '90000010', errorMessage: 'bad signature' } },
    ], certs);
  }
}
