/**
 * Every link the UI makes. Path segments are percent-encoded one by one, so a
 * hostname holding '/', '?', '#' or '%' stays one segment; the router decodes
 * each segment the same way.
 */

type QueryValue = string | number | boolean | null | undefined;

const seg = encodeURIComponent;

/** Appends the defined, non-empty parameters as a query string. */
export function withQuery(path: string, params: Record<string, QueryValue>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export interface ReportQuery {
  hostname?: string;
  outcome?: string;
  latestPerHost?: boolean;
  cursor?: string;
  limit?: number;
}

export interface ImaQuery {
  boot?: string;
  /** The events stored with one report (accepted or refused) instead of a boot's. */
  attestation?: number;
  status?: string;
  path?: string;
  cursor?: string;
}

export interface BiosQuery {
  boot?: string;
  attestation?: number;
}

/** A keyset cursor of the IMA page that starts at entry `entrynum` (every id of the entry before is behind it). */
function imaPageAt(entrynum: number): string | undefined {
  return entrynum > 0 ? `${entrynum - 1}.999999999999999` : undefined;
}

export const links = {
  overview: () => '/',
  stylesheet: () => '/static/style.css',
  account: () => '/account',
  login: () => '/login',
  logout: () => '/logout',
  tokens: () => '/admin/tokens',
  policies: () => '/admin/policies',
  policy: (name: string) => `/admin/policies/${seg(name)}`,
  alerts: () => '/admin/alerts',
  machines: (params: Record<string, QueryValue> = {}) => withQuery('/machines', params),
  machine: (hostname: string) => `/machines/${seg(hostname)}`,
  certificatePem: (hostname: string, which: 'ek' | 'ak') => `/machines/${seg(hostname)}/${which}.pem`,
  bioslog: (hostname: string, q: BiosQuery = {}) => withQuery(`/machines/${seg(hostname)}/bioslog`, { ...q }),
  imalog: (hostname: string, q: ImaQuery = {}) => withQuery(`/machines/${seg(hostname)}/imalog`, { ...q }),
  /** The IMA page that starts at one entry of a boot (`boot` as Params.boot takes it), scrolled to it. */
  imaEntry: (hostname: string, boot: string, entrynum: number) =>
    `${withQuery(`/machines/${seg(hostname)}/imalog`, { boot, cursor: imaPageAt(entrynum) })}#entry-${entrynum}`,
  /** One event of the firmware log a report was checked against, scrolled to it. */
  firmwareEvent: (hostname: string, reportId: number, entrynum: number) =>
    `${withQuery(`/machines/${seg(hostname)}/bioslog`, { attestation: reportId })}#event-${entrynum}`,
  search: (params: Record<string, QueryValue> = {}) => withQuery('/search', params),
  compareBoots: (hostname: string, q: { boot?: string; with?: string } = {}) => withQuery(`/machines/${seg(hostname)}/compare`, { ...q }),
  compareMachines: (a: string, b: string) => withQuery('/compare', { a, b }),
  reports: (q: ReportQuery = {}) => withQuery('/reports', { ...q }),
  report: (id: number) => `/reports/${id}`,
  quoteJson: (id: number) => `/reports/${id}/quote.json`,
  securityEvents: (cursor?: string) => withQuery('/security-events', { cursor }),
  /** An IMA entry stored with one report (accepted or refused): the page of that report's entries starting at it. */
  reportImaEntry: (hostname: string, attestation: number, entrynum: number) =>
    `${withQuery(`/machines/${seg(hostname)}/imalog`, { attestation, cursor: imaPageAt(entrynum) })}#entry-${entrynum}`,
};

export const apiLinks = {
  machines: () => '/api/machines',
  machine: (hostname: string) => `/api/machines/${seg(hostname)}`,
  report: (id: number) => `/api/reports/${id}`,
  bioslog: (hostname: string) => `/api/machines/${seg(hostname)}/bioslog`,
  imalog: (hostname: string) => `/api/machines/${seg(hostname)}/imalog`,
  reportEvents: (id: number, log: 'firmware' | 'ima', q: { cursor?: string; limit?: number } = {}) => withQuery(`/api/reports/${id}/events`, { log, ...q }),
  securityEvents: () => '/api/security-events',
  searchIma: (params: Record<string, QueryValue>) => withQuery('/api/search/ima', params),
  searchFirmware: (params: Record<string, QueryValue>) => withQuery('/api/search/firmware', params),
  file: (hash: string) => withQuery('/api/files', { hash }),
};
