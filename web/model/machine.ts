/** A machine with everything its page and its API record show. */
import type { ImaBoot, MachineSummary } from '../../db/queries.js';
import type { AttestationRow } from '../../db/store.js';
import type { MachineBoot } from '../../db/web-queries.js';
import { viewCertificate, type CertificateResult } from '../certificate-view.js';
import { stateOptions, type WebContext } from '../context.js';
import { NotFoundError } from '../params.js';

/** Reports listed on a machine's page; the reports page pages through the rest. */
export const RECENT_REPORTS = 20;

export interface MachineDetail {
  summary: MachineSummary;
  ek: CertificateResult;
  ak: CertificateResult | null;
  boots: MachineBoot[];
  imaBoots: ImaBoot[];
  recent: AttestationRow[];
  moreReports: boolean;
}

/** The machine's summary (row, last report, state), or 404. */
export async function requireMachine(ctx: WebContext, hostname: string): Promise<MachineSummary> {
  const row = await ctx.data.machineByHostname(hostname);
  const summary = row && (await ctx.data.machine(row.id, stateOptions(ctx)));
  if (!summary) throw new NotFoundError(`no machine named ${JSON.stringify(hostname)}`);
  return summary;
}

export async function loadMachineDetail(ctx: WebContext, hostname: string): Promise<MachineDetail> {
  const summary = await requireMachine(ctx, hostname);
  const id = summary.machine.id;
  const [boots, imaBoots, recent] = await Promise.all([
    ctx.data.machineBoots(id),
    ctx.data.imaBoots(id),
    ctx.data.reports({ machineId: id, limit: RECENT_REPORTS }),
  ]);
  const m = summary.machine;
  return {
    summary,
    ek: viewCertificate(m.ekcertificatepem),
    ak: m.akcertificatepem ? viewCertificate(m.akcertificatepem) : null,
    boots,
    imaBoots,
    recent: recent.items,
    moreReports: recent.next !== null,
  };
}
