/** GET /api/search/ima, /api/search/firmware, /api/files — fleet-wide searches of the stored evidence. */
import { jsonResponse, type Handler } from '../context.js';
import { firmwareCriteria, imaCriteria, searchFirmware, searchIma } from '../model/search.js';
import { BadRequestError } from '../params.js';
import { fileDigest } from '../search-params.js';
import { fileHistoryJson, firmwareHitJson, imaHitJson, pcrHitJson, searchPageJson } from '../search-json.js';

export const apiSearchIma: Handler = async ({ ctx, query }) => {
  const c = imaCriteria(query);
  if (!c) throw new BadRequestError('give hash, path or pathPrefix', 'hash');
  return jsonResponse(searchPageJson(await searchIma(ctx, c), imaHitJson));
};

export const apiSearchFirmware: Handler = async ({ ctx, query }) => {
  const c = firmwareCriteria(query);
  if (!c) throw new BadRequestError('give bank, pcr and value, or digest', 'value');
  const r = await searchFirmware(ctx, c);
  return jsonResponse(r.kind === 'pcr' ? searchPageJson(r.page, pcrHitJson) : searchPageJson(r.page, firmwareHitJson));
};

export const apiFile: Handler = async ({ ctx, query }) => {
  const hashes = fileDigest(query, 'hash');
  if (!hashes) throw new BadRequestError('hash is required', 'hash');
  return jsonResponse(fileHistoryJson(hashes, await ctx.data.search.fileHistory(hashes)));
};
