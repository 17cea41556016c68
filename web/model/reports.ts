/** The reports list: filters from the query string, shared by the page and the API. */
import type { Page, ReportFilter } from '../../db/queries.js';
import type { AttestationRow } from '../../db/store.js';
import type { WebContext } from '../context.js';
import { NotFoundError, type Params } from '../params.js';

/** The outcome filter of the page's form; the API also takes each as its own boolean. */
export const REPORT_OUTCOMES = ['failed', 'pcrinvalid', 'pcrschanged'] as const;
export type ReportOutcomeFilter = (typeof REPORT_OUTCOMES)[number];

export const REPORTS_PAGE = 50;

export interface ReportQuery {
  hostname?: string;
  outcome?: ReportOutcomeFilter;
  failed?: boolean;
  pcrinvalid?: boolean;
  pcrschanged?: boolean;
  latestPerHost?: boolean;
  cursor?: string;
  limit?: number;
}

export function reportQuery(q: Params): ReportQuery {
  return {
    hostname: q.string('hostname'),
    outcome: q.oneOf('outcome', REPORT_OUTCOMES),
    failed: q.bool('failed'),
    pcrinvalid: q.bool('pcrinvalid'),
    pcrschanged: q.bool('pcrschanged'),
    latestPerHost: q.bool('latestPerHost'),
    cursor: q.string('cursor'),
    limit: q.int('limit', 1, 500),
  };
}

/** Reports newest first; 404 when the hostname filter names no machine. */
export async function loadReports(ctx: WebContext, rq: ReportQuery): Promise<Page<AttestationRow>> {
  const filter: ReportFilter = {
    failed: rq.failed ?? (rq.outcome === 'failed' ? true : undefined),
    pcrinvalid: rq.pcrinvalid ?? (rq.outcome === 'pcrinvalid' ? true : undefined),
    pcrschanged: rq.pcrschanged ?? (rq.outcome === 'pcrschanged' ? true : undefined),
    latestPerHost: rq.latestPerHost,
    cursor: rq.cursor,
    limit: rq.limit ?? REPORTS_PAGE,
  };
  if (rq.hostname !== undefined) {
    const m = await ctx.data.machineByHostname(rq.hostname);
    if (!m) throw new NotFoundError(`no machine named ${JSON.stringify(rq.hostname)}`);
    filter.machineId = m.id;
  }
  return ctx.data.reports(filter);
}
