/**
 * The JSON API's records. Field names are part of the API (web/README.md
 * lists them): attestation fields keep IBM ACS's attestlog column names,
 * times are ISO 8601 UTC strings, absent values are null.
 */
import type { ImaBoot, MachineListItem, ReportSummary, StoredImaEvent } from '../db/queries.js';
import type { MachineBoot } from '../db/web-queries.js';
import type { CertificateResult } from './certificate-view.js';
import type { BiosLogDetail, ImaLogDetail } from './model/logs.js';
import type { MachineDetail } from './model/machine.js';
import { storedQuote, type ReportDetail } from './model/report.js';
import { bootParam } from './params.js';
import { errorDescription, outcomeOf } from './report-view.js';
import { apiLinks, links } from './urls.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A stored value as the API gives it: times as ISO strings, the rest unchanged. */
type ApiValue<V> = V extends Date ? string : V;

/** Fields the API gives as stored, named as in the row, times as ISO strings. */
function fields<T, K extends keyof T>(row: T, keys: readonly K[]): { [P in K]: ApiValue<T[P]> } {
  const out = {} as Record<K, unknown>;
  for (const k of keys) {
    const v = row[k];
    out[k] = v instanceof Date ? v.toISOString() : v;
  }
  return out as { [P in K]: ApiValue<T[P]> };
}

/** A boot as every record names it: the stored boot time and the `boot` URL parameter made from it. */
const bootOf = (boottime: string | null) => ({ boottime, boot: bootParam(boottime) });

export function reportJson(r: ReportSummary) {
  return {
    id: r.id,
    hostname: r.hostname,
    userid: r.userid,
    boottime: r.boottime,
    timestamp: iso(r.timestamp),
    nonceExpires: iso(r.nonceExpires),
    quoted: iso(r.quoted),
    newBoot: r.newBoot,
    outcome: outcomeOf(r),
    quoteverified: r.quoteverified,
    logverified: r.logverified,
    logentries: r.logentries,
    imaevents: r.imaevents,
    imaver: r.imaver,
    imasigver: r.imasigver,
    badimalog: r.badimalog,
    pcrinvalid: r.pcrinvalid,
    pcrschanged: r.pcrschanged,
    resetCount: r.resetCount,
    restartCount: r.restartCount,
    errorCode: r.errorCode,
    errorMessage: r.errorMessage,
    errorDescription: errorDescription(r),
    diagnosis: r.diagnosis,
    url: links.report(r.id),
    api: apiLinks.report(r.id),
  };
}

export function machineJson(s: MachineListItem) {
  const m = s.machine;
  return {
    hostname: m.hostname,
    tpmvendor: m.tpmvendor,
    ekAlg: m.ekAlg,
    akAlg: m.akAlg,
    enrolled: iso(m.enrolled),
    boottime: m.boottime,
    imaevents: m.imaevents,
    state: s.state,
    lastReport: s.last ? reportJson(s.last) : null,
    url: links.machine(m.hostname),
    api: apiLinks.machine(m.hostname),
  };
}

function certificateJson(c: CertificateResult | null) {
  if (c === null) return null;
  if (!c.ok) return { error: c.error, pem: c.pem };
  return c.cert;
}

function bootJson(b: MachineBoot) {
  return {
    ...bootOf(b.boottime),
    ...fields(b, ['reports', 'failed', 'firstReportId', 'lastReportId', 'firstQuoted', 'lastQuoted', 'biosAttestationId']),
  };
}

function imaBootJson(b: ImaBoot) {
  return {
    ...bootOf(b.boottime),
    ...fields(b, ['events', 'problems', 'firstEntry', 'lastEntry', 'firstSeen', 'lastSeen']),
  };
}

export function machineDetailJson(d: MachineDetail) {
  const m = d.summary.machine;
  return {
    ...machineJson(d.summary),
    ekFingerprint: m.ekFingerprint,
    akName: m.akName,
    ekCertificate: certificateJson(d.ek),
    akCertificate: certificateJson(d.ak),
    whitelist: m.whitelist,
    boots: d.boots.map(bootJson),
    imaBoots: d.imaBoots.map(imaBootJson),
    recentReports: d.recent.map(reportJson),
  };
}

export function reportDetailJson(d: ReportDetail) {
  return {
    ...reportJson(d.report),
    // A nonce still waiting for its quote is never shown: whoever holds it could answer in the host's name.
    nonce: d.report.quoted === null ? null : d.report.nonce,
    pcrselect: d.report.pcrselect,
    machineState: d.machine.state,
    previousReportId: d.previous?.id ?? null,
    flags: d.flags,
    steps: d.steps,
    checks: d.checks,
    diagnosis: d.diagnosis,
    evidence: d.evidence,
    pcrs: d.pcrs,
    quote: storedQuote(d.report),
    events: {
      firmware: apiLinks.reportEvents(d.report.id, 'firmware'),
      ima: apiLinks.reportEvents(d.report.id, 'ima'),
    },
  };
}

export function biosLogJson(d: BiosLogDetail) {
  return {
    hostname: d.summary.machine.hostname,
    boot: d.boot ? bootParam(d.boot.boottime) : null,
    attestationId: d.attestationId,
    boots: d.boots.map(bootJson),
    secureBoot: d.log.secureBoot,
    decodeError: d.log.decodeError,
    events: d.log.events,
  };
}

export function imaEventJson(e: StoredImaEvent) {
  return {
    entrynum: e.entrynum,
    filename: e.filename,
    template: e.template,
    filehash: e.filehash,
    badevent: e.badevent,
    nosig: e.nosig,
    nokey: e.nokey,
    badsig: e.badsig,
    refused: e.refused,
    attestationId: e.attestationId,
    timestamp: iso(e.timestamp),
    raw: e.imaEntry,
  };
}

export function imaLogJson(d: ImaLogDetail) {
  return {
    hostname: d.summary.machine.hostname,
    boot: d.boot ? bootParam(d.boot.boottime) : null,
    boots: d.boots.map(imaBootJson),
    items: d.page.items.map(imaEventJson),
    next: d.page.next,
    searchedThrough: d.page.searchedThrough,
  };
}
