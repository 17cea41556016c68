/**
 * The fleet searches as the API and the /search page ask for them: query
 * parameters checked and turned into SearchQueries calls. A hostname that is
 * not enrolled matches nothing (searching is not asking for a machine).
 */
import type { FirmwareHit, ImaHit, ImaSearch, PcrHit, SearchPage } from '../../db/search-queries.js';
import type { WebContext } from '../context.js';
import { BadRequestError, type Params } from '../params.js';
import { bank, bankDigest, fileDigest, pcrIndex, time } from '../search-params.js';

/** Results per page unless `limit` says otherwise. */
export const SEARCH_PAGE = 100;
const EMPTY = { items: [], next: null, machines: 0 };

export interface ImaCriteria extends Omit<ImaSearch, 'machineId'> {
  hostname?: string;
}

/** The IMA search parameters, or undefined when none is given. */
export function imaCriteria(query: Params, cursorName = 'cursor'): ImaCriteria | undefined {
  const c: ImaCriteria = {
    filehashes: fileDigest(query, 'hash'),
    path: query.string('path'),
    pathPrefix: query.string('pathPrefix'),
    notFilehashes: fileDigest(query, 'notHash'),
    hostname: query.string('hostname'),
    since: time(query, 'since'),
    until: time(query, 'until'),
    cursor: query.string(cursorName),
    limit: query.int('limit', 1, 1000),
  };
  const byPath = c.path !== undefined || c.pathPrefix !== undefined;
  if (c.notFilehashes && !byPath) throw new BadRequestError('notHash needs path or pathPrefix: it finds entries of a path whose digest differs', 'notHash');
  if (c.path !== undefined && c.pathPrefix !== undefined) throw new BadRequestError('give path or pathPrefix, not both', 'pathPrefix');
  return c.filehashes || byPath ? c : undefined;
}

/** Resolves the hostname filter: undefined for none, null when no machine has that name. */
async function machineFilter(ctx: WebContext, hostname: string | undefined): Promise<number | undefined | null> {
  if (hostname === undefined) return undefined;
  return (await ctx.data.machineByHostname(hostname))?.id ?? null;
}

export async function searchIma(ctx: WebContext, c: ImaCriteria): Promise<SearchPage<ImaHit>> {
  const machineId = await machineFilter(ctx, c.hostname);
  if (machineId === null) return EMPTY;
  const { hostname: _hostname, ...rest } = c;
  return ctx.data.search.ima({ ...rest, machineId, limit: c.limit ?? SEARCH_PAGE });
}

export type FirmwareCriteria =
  | { kind: 'pcr'; bank: 'sha256' | 'sha1'; pcr: number; value: string; hostname?: string; cursor?: string; limit?: number }
  | { kind: 'digest'; bank: 'sha256' | 'sha1'; digest: string; hostname?: string; cursor?: string; limit?: number };

/** The firmware search parameters, or undefined when neither value nor digest is given. */
export function firmwareCriteria(query: Params, cursorName = 'cursor'): FirmwareCriteria | undefined {
  const inBank = bank(query);
  const pcr = pcrIndex(query);
  const value = bankDigest(query, 'value', inBank);
  const digest = bankDigest(query, 'digest', inBank);
  const common = { hostname: query.string('hostname'), cursor: query.string(cursorName), limit: query.int('limit', 1, 1000) };
  if (value && digest) throw new BadRequestError('give value (with pcr) or digest, not both', 'digest');
  if (value) {
    if (pcr === undefined) throw new BadRequestError('value needs pcr: the PCR index 0..23 whose value it is', 'pcr');
    return { kind: 'pcr', bank: value.bank, pcr, value: value.hex, ...common };
  }
  if (digest) return { kind: 'digest', bank: digest.bank, digest: digest.hex, ...common };
  if (pcr !== undefined) throw new BadRequestError('pcr needs value: the PCR value to look for', 'value');
  return undefined;
}

export type FirmwareResults = { kind: 'pcr'; page: SearchPage<PcrHit> } | { kind: 'digest'; page: SearchPage<FirmwareHit> };

export async function searchFirmware(ctx: WebContext, c: FirmwareCriteria): Promise<FirmwareResults> {
  const machineId = await machineFilter(ctx, c.hostname);
  const limit = c.limit ?? SEARCH_PAGE;
  if (c.kind === 'pcr') {
    const page = machineId === null ? EMPTY : await ctx.data.search.pcrValue({ bank: c.bank, pcr: c.pcr, value: c.value, machineId, cursor: c.cursor, limit });
    return { kind: 'pcr', page };
  }
  const page = machineId === null ? EMPTY : await ctx.data.search.firmwareDigest({ bank: c.bank, digest: c.digest, machineId, cursor: c.cursor, limit });
  return { kind: 'digest', page };
}
