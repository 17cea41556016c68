/** GET /api/reports, /api/reports/:id */
import { jsonResponse, type Handler } from '../context.js';
import { reportDetailJson, reportJson } from '../json.js';
import { loadReport } from '../model/report.js';
import { loadReports, reportQuery } from '../model/reports.js';
import { idSegment } from '../params.js';

export const apiReports: Handler = async ({ ctx, query }) => {
  const page = await loadReports(ctx, reportQuery(query));
  return jsonResponse({ items: page.items.map(reportJson), next: page.next });
};

export const apiReport: Handler = async ({ ctx, params }) => {
  return jsonResponse(reportDetailJson(await loadReport(ctx, idSegment(params.id!, 'id'))));
};
