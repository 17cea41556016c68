/**
 * GET /api/reports/:id/events?log=firmware|ima&cursor=&limit= — the events
 * stored with one report, accepted or refused, in log order, each with its
 * flags and the diagnosis' reason when the report names it.
 */
import { decodeReportVerdict } from '../../db/report-verdict.js';
import type { StoredBiosEvent } from '../../db/queries.js';
import { jsonResponse, type Handler } from '../context.js';
import { imaEventJson } from '../json.js';
import { BadRequestError, idSegment, NotFoundError } from '../params.js';

function firmwareEventJson(e: StoredBiosEvent, named: Map<number, string>) {
  return {
    entrynum: e.entrynum,
    pcrindex: e.pcrindex,
    eventtype: e.eventtype,
    event: e.event,
    pcrsha1: e.pcrsha1,
    pcrsha256: e.pcrsha256,
    refused: e.refused,
    suspect: named.get(e.entrynum) ?? null,
    raw: e.biosEntry,
  };
}

export const apiReportEvents: Handler = async ({ ctx, params, query }) => {
  const id = idSegment(params.id!, 'id');
  const log = query.oneOf('log', ['firmware', 'ima'] as const);
  if (log === undefined) throw new BadRequestError('log must be firmware or ima', 'log');
  const cursor = query.string('cursor');
  const limit = query.int('limit', 1, 5000);
  const report = await ctx.data.report(id);
  if (!report) throw new NotFoundError(`no report ${id}`);
  const diagnosis = decodeReportVerdict(report.verdict)?.diagnosis;
  if (log === 'firmware') {
    const named = new Map((diagnosis?.firmwareEvents ?? []).map((e) => [e.entrynum, e.reason]));
    const page = await ctx.data.reportFirmwareEvents(id, cursor, limit);
    return jsonResponse({ items: page.items.map((e) => firmwareEventJson(e, named)), next: page.next });
  }
  const named = new Map((diagnosis?.imaEntries ?? []).map((e) => [e.entrynum, e.reason]));
  const page = await ctx.data.imaLog({ machineId: report.machineId, boottime: null, attestationId: id, cursor, limit });
  return jsonResponse({ items: page.items.map((e) => ({ ...imaEventJson(e), suspect: named.get(e.entrynum) ?? null })), next: page.next });
};
