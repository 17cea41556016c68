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
    boottime: b.boottime,
    boot: bootParam(b.boottime),
    reports: b.reports,
    failed: b.failed,
    firstReportId: b.firstReportId,
    lastReportId: b.lastReportId,
    firstQuoted: iso(b.firstQuoted),
    lastQuoted: iso(b.lastQuoted),
    biosAttestationId: b.biosAttestationId,
  };
}

function imaBootJson(b: ImaBoot) {
  return {
    boottime: b.boottime,
    boot: bootParam(b.boottime),
    events: b.events,
    problems: b.problems,
    firstEntry: b.firstEntry,
    lastEntry: b.lastEntry,
    firstSeen: iso(b.firstSeen),
    lastSeen: iso(b.lastSeen),
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
