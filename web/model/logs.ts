/** Firmware and IMA logs of one machine, selected by boot or attestation. */
import type { ImaBoot, ImaPage, ImaStatus, MachineSummary } from '../../db/queries.js';
import type { MachineBoot } from '../../db/web-queries.js';
import type { WebContext } from '../context.js';
import { viewFirmwareLog, type FirmwareLogView } from '../firmware-view.js';
import { NotFoundError } from '../params.js';
import { requireMachine } from './machine.js';

export interface BiosLogDetail {
  summary: MachineSummary;
  boots: MachineBoot[];
  /** The boot shown (undefined when the machine has no reports). */
  boot: MachineBoot | undefined;
  /** The attestation that carried the log shown; null when none was stored. */
  attestationId: number | null;
  /** The log shown is the evidence of a refused report, not part of the accepted chain. */
  refused: boolean;
  log: FirmwareLogView;
}

export interface BiosSelector {
  /** Host-reported boot time; null selects reports without one. */
  boot?: string | null;
  /** The log a given report was checked against. */
  attestation?: number;
}

export async function loadBiosLog(ctx: WebContext, hostname: string, sel: BiosSelector): Promise<BiosLogDetail> {
  const summary = await requireMachine(ctx, hostname);
  const id = summary.machine.id;
  const boots = await ctx.data.machineBoots(id);
  let wanted: number | null;
  let boot: MachineBoot | undefined;
  if (sel.attestation !== undefined) {
    const report = await ctx.data.report(sel.attestation);
    if (!report || report.machineId !== id) throw new NotFoundError(`${JSON.stringify(hostname)} has no report ${sel.attestation}`);
    wanted = report.id;
    boot = boots.find((b) => b.boottime === report.boottime && b.firstReportId <= report.id && report.id <= b.lastReportId);
  } else if (sel.boot !== undefined) {
    boot = boots.find((b) => b.boottime === sel.boot);
    if (!boot) throw new NotFoundError(`${JSON.stringify(hostname)} has no reports for boot ${JSON.stringify(sel.boot)}`);
    wanted = boot.biosAttestationId;
  } else {
    boot = boots.find((b) => b.biosAttestationId !== null) ?? boots[0];
    wanted = boot?.biosAttestationId ?? null;
  }
  const events = wanted === null ? { attestationId: null, events: [] } : await ctx.data.biosLog(wanted);
  const refused = events.events.some((e) => e.refused);
  return { summary, boots, boot, attestationId: events.attestationId, refused, log: viewFirmwareLog(events.events) };
}

export interface ImaSelector {
  boot?: string | null;
  /** The events stored with one report (accepted or refused) instead of a boot's. */
  attestation?: number;
  status?: ImaStatus;
  path?: string;
  cursor?: string;
  limit?: number;
}

export interface ImaLogDetail {
  summary: MachineSummary;
  /** Set when the page shows one report's events. */
  attestationId: number | null;
  boots: ImaBoot[];
  /** The boot shown; undefined when the machine has no IMA events. */
  boot: ImaBoot | undefined;
  page: ImaPage;
}

/** IMA entries per page by default: enough to scroll, small enough for 100k-entry boots. */
export const IMA_PAGE = 200;

export async function loadImaLog(ctx: WebContext, hostname: string, sel: ImaSelector): Promise<ImaLogDetail> {
  const summary = await requireMachine(ctx, hostname);
  const machineId = summary.machine.id;
  const boots = await ctx.data.imaBoots(machineId);
  if (sel.attestation !== undefined) {
    const report = await ctx.data.report(sel.attestation);
    if (!report || report.machineId !== machineId) throw new NotFoundError(`${JSON.stringify(hostname)} has no report ${sel.attestation}`);
    const page = await ctx.data.imaLog({ machineId, boottime: null, attestationId: report.id, status: sel.status, path: sel.path, cursor: sel.cursor, limit: sel.limit ?? IMA_PAGE });
    return { summary, attestationId: report.id, boots, boot: boots.find((b) => b.boottime === report.boottime), page };
  }
  const boot = sel.boot === undefined ? boots[0] : boots.find((b) => b.boottime === sel.boot);
  if (sel.boot !== undefined && !boot) throw new NotFoundError(`${JSON.stringify(hostname)} has no IMA events for boot ${JSON.stringify(sel.boot)}`);
  const page = boot
    ? await ctx.data.imaLog({ machineId, boottime: boot.boottime, status: sel.status, path: sel.path, cursor: sel.cursor, limit: sel.limit ?? IMA_PAGE })
    : { items: [], next: null, searchedThrough: null };
  return { summary, attestationId: null, boots, boot, page };
}
