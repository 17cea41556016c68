/** GET /api/machines/:hostname/bioslog, /api/machines/:hostname/imalog */
import { jsonResponse, type Handler } from '../context.js';
import { biosLogJson, imaLogJson } from '../json.js';
import { loadBiosLog, loadImaLog } from '../model/logs.js';

export const apiBiosLog: Handler = async ({ ctx, params, query }) => {
  const sel = { boot: query.boot(), attestation: query.int('attestation', 1, Number.MAX_SAFE_INTEGER) };
  return jsonResponse(biosLogJson(await loadBiosLog(ctx, params.hostname!, sel)));
};

export const apiImaLog: Handler = async ({ ctx, params, query }) => {
  const sel = {
    boot: query.boot(),
    attestation: query.int('attestation', 1, Number.MAX_SAFE_INTEGER),
    status: query.imaStatus(),
    path: query.string('path'),
    cursor: query.string('cursor'),
    limit: query.int('limit', 1, 5000),
  };
  return jsonResponse(imaLogJson(await loadImaLog(ctx, params.hostname!, sel)));
};
