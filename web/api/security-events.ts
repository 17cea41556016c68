/** GET /api/security-events?cursor=&limit= — requests that were no host's evidence (forged quotes), newest first. */
import { jsonResponse, type Handler } from '../context.js';

export const apiSecurityEvents: Handler = async ({ ctx, query }) => {
  const page = await ctx.data.securityEvents(query.string('cursor'), query.int('limit', 1, 500));
  return jsonResponse({
    items: page.items.map((e) => ({ id: e.id, timestamp: e.timestamp.toISOString(), kind: e.kind, hostname: e.hostname, detail: e.detail })),
    next: page.next,
  });
};
