/**
 * The search API's records (web/README.md lists the fields): times are ISO
 * 8601 UTC strings, `url` links the page showing the exact entry.
 */
import type { FileHistory, FirmwareHit, ImaHit, PcrHit, SearchPage } from '../db/search-queries.js';
import { bootParam } from './params.js';
import { links } from './urls.js';

/** The IMA page at the entry: in its boot's accepted log, or among its refused report's events. */
export function imaHitUrl(h: ImaHit): string {
  return h.refused ? links.reportImaEntry(h.hostname, h.reportId, h.entrynum) : links.imaEntry(h.hostname, bootParam(h.boottime), h.entrynum);
}

export function imaHitJson(h: ImaHit) {
  return {
    hostname: h.hostname,
    entrynum: h.entrynum,
    filename: h.filename,
    filehash: h.filehash,
    template: h.template,
    boottime: h.boottime,
    firstSeen: h.firstSeen.toISOString(),
    lastSeen: h.lastSeen.toISOString(),
    reportId: h.reportId,
    url: imaHitUrl(h),
    refused: h.refused,
  };
}

export function pcrHitJson(h: PcrHit) {
  return { hostname: h.hostname, reportId: h.reportId, boottime: h.boottime, pcr: h.pcr, value: h.value, url: links.report(h.reportId) };
}

export function firmwareHitJson(h: FirmwareHit) {
  return {
    hostname: h.hostname,
    reportId: h.reportId,
    boottime: h.boottime,
    pcr: h.pcr,
    entrynum: h.entrynum,
    eventtype: h.eventtype,
    url: links.firmwareEvent(h.hostname, h.reportId, h.entrynum),
    refused: h.refused,
  };
}

export function searchPageJson<T, J>(p: SearchPage<T>, item: (t: T) => J) {
  return { items: p.items.map(item), next: p.next, machines: p.machines };
}

export function fileHistoryJson(hashes: string[], f: FileHistory) {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    hashes,
    entries: f.entries,
    firstSeen: iso(f.firstSeen),
    lastSeen: iso(f.lastSeen),
    machines: f.machines.map((m) => ({ hostname: m.hostname, entries: m.entries, firstSeen: iso(m.firstSeen), lastSeen: iso(m.lastSeen), url: links.machine(m.hostname) })),
    paths: f.paths.map((p) => ({ path: p.path, machines: p.machines, entries: p.entries, firstSeen: iso(p.firstSeen), lastSeen: iso(p.lastSeen) })),
  };
}
