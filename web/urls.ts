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

export const links = {
  overview: () => '/',
  stylesheet: () => '/static/style.css',
  machines: (params: Record<string, QueryValue> = {}) => withQuery('/machines', params),
  machine: (hostname: string) => `/machines/${seg(hostname)}`,
  certificatePem: (hostname: string, which: 'ek' | 'ak') => `/machines/${seg(hostname)}/${which}.pem`,
  bioslog: (hostname: string, q: BiosQuery = {}) => withQuery(`/machines/${seg(hostname)}/bioslog`, { ...q }),
  imalog: (hostname: string, q: ImaQuery = {}) => withQuery(`/machines/${seg(hostname)}/imalog`, { ...q }),
  reports: (q: ReportQuery = {}) => withQuery('/reports', { ...q }),
  report: (id: number) => `/reports/${id}`,
  quoteJson: (id: number) => `/reports/${id}/quote.json`,
  /** A firmware event of a report's log, anchored. */
  firmwareEvent: (hostname: string, attestation: number, entrynum: number) => `${links.bioslog(hostname, { attestation })}#fw-${entrynum}`,
  /** An IMA entry of a report: the page of that report's entries starting at it (cursor: after every row of the entry before). */
  imaEntry: (hostname: string, attestation: number, entrynum: number) =>
    `${links.imalog(hostname, { attestation, cursor: entrynum > 0 ? `${entrynum - 1}.999999999999999` : undefined })}#ima-${entrynum}`,
};

export const apiLinks = {
  machines: () => '/api/machines',
  machine: (hostname: string) => `/api/machines/${seg(hostname)}`,
  report: (id: number) => `/api/reports/${id}`,
  bioslog: (hostname: string) => `/api/machines/${seg(hostname)}/bioslog`,
  imalog: (hostname: string) => `/api/machines/${seg(hostname)}/imalog`,
  reportEvents: (id: number, log: 'firmware' | 'ima', q: { cursor?: string; limit?: number } = {}) => withQuery(`/api/reports/${id}/events`, { log, ...q }),
  securityEvents: () => '/api/security-events',
};
