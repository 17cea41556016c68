/**
 * Two boots side by side — of one machine, or the latest boots of two
 * machines: the PCRs their newest accepted reports proved that differ, the
 * firmware events only one of them logged, and the IMA files the second
 * boot measured that the first did not (new paths, or known paths with
 * another digest).
 *
 * Firmware events are compared as a multiset of (PCR, type, digests, data):
 * an event moved elsewhere in the log is the same event, one inserted or
 * altered is listed on the side that has it.
 */
import type { MachineSummary, StoredBiosEvent } from '../../db/queries.js';
import type { ImaChange } from '../../db/search-queries.js';
import { PCR_BANK_NAMES, PCR_COUNT, type PcrBankName } from '../../shared/tpm/pcr-banks.js';
import type { MachineBoot } from '../../db/web-queries.js';
import type { WebContext } from '../context.js';
import { NotFoundError } from '../params.js';
import { requireMachine } from './machine.js';

/** IMA changes listed at most; the page says when there are more. */
export const IMA_CHANGES_SHOWN = 2000;

export interface BootSide {
  summary: MachineSummary;
  boot: MachineBoot;
  /** The newest accepted report of the boot, whose PCRs are compared; null when none was accepted. */
  reportId: number | null;
}

export interface PcrDifference {
  bank: PcrBankName;
  pcr: number;
  a: string | null;
  b: string | null;
}

export interface Comparison {
  a: BootSide;
  b: BootSide;
  pcrs: PcrDifference[];
  /** Both boots had an accepted report to compare PCRs from. */
  pcrsCompared: boolean;
  firmwareOnlyA: StoredBiosEvent[];
  firmwareOnlyB: StoredBiosEvent[];
  /** Both boots had a firmware log stored. */
  firmwareCompared: boolean;
  imaChanges: ImaChange[];
  moreImaChanges: boolean;
}

export interface MachineBoots {
  summary: MachineSummary;
  boots: MachineBoot[];
}

export async function machineBoots(ctx: WebContext, hostname: string): Promise<MachineBoots> {
  const summary = await requireMachine(ctx, hostname);
  return { summary, boots: await ctx.data.machineBoots(summary.machine.id) };
}

/** The boot with that boot time (Params.boot's value), or 404. */
export function pickBoot(m: MachineBoots, boot: string | null): MachineBoot {
  const found = m.boots.find((b) => b.boottime === boot);
  if (!found) throw new NotFoundError(`${JSON.stringify(m.summary.machine.hostname)} has no reports for boot ${JSON.stringify(boot)}`);
  return found;
}

/** The newest boot of a machine, or 404 when it never reported. */
export function latestBoot(m: MachineBoots): MachineBoot {
  const b = m.boots[0];
  if (!b) throw new NotFoundError(`${JSON.stringify(m.summary.machine.hostname)} has no reports`);
  return b;
}

function eventKey(e: StoredBiosEvent): string {
  return JSON.stringify([e.pcrindex, e.eventtype, e.pcrsha256, e.pcrsha1, e.event]);
}

/** Events of `xs` left after taking away one match in `ys` for each. */
function without(xs: StoredBiosEvent[], ys: StoredBiosEvent[]): StoredBiosEvent[] {
  const left = new Map<string, number>();
  for (const y of ys) left.set(eventKey(y), (left.get(eventKey(y)) ?? 0) + 1);
  return xs.filter((x) => {
    const n = left.get(eventKey(x)) ?? 0;
    if (n > 0) left.set(eventKey(x), n - 1);
    return n === 0;
  });
}

async function side(ctx: WebContext, summary: MachineSummary, boot: MachineBoot): Promise<BootSide> {
  const reportId = await ctx.data.search.lastVerifiedReportId({ machineId: summary.machine.id, boottime: boot.boottime });
  return { summary, boot, reportId: reportId ?? null };
}

export async function compareBoots(ctx: WebContext, a: { summary: MachineSummary; boot: MachineBoot }, b: { summary: MachineSummary; boot: MachineBoot }): Promise<Comparison> {
  const [sa, sb] = [await side(ctx, a.summary, a.boot), await side(ctx, b.summary, b.boot)];
  const [ra, rb] = [sa.reportId === null ? undefined : await ctx.data.report(sa.reportId), sb.reportId === null ? undefined : await ctx.data.report(sb.reportId)];
  const pcrs: PcrDifference[] = [];
  if (ra?.pcrs && rb?.pcrs) {
    for (const bank of PCR_BANK_NAMES) {
      for (let pcr = 0; pcr < PCR_COUNT; pcr++) {
        const [x, y] = [ra.pcrs[bank][pcr] ?? null, rb.pcrs[bank][pcr] ?? null];
        if (x !== y) pcrs.push({ bank, pcr, a: x, b: y });
      }
    }
  }
  const fa = a.boot.biosAttestationId === null ? null : (await ctx.data.biosLog(a.boot.biosAttestationId)).events;
  const fb = b.boot.biosAttestationId === null ? null : (await ctx.data.biosLog(b.boot.biosAttestationId)).events;
  const ima = await ctx.data.search.imaChanges(
    { machineId: a.summary.machine.id, boottime: a.boot.boottime },
    { machineId: b.summary.machine.id, boottime: b.boot.boottime },
    IMA_CHANGES_SHOWN,
  );
  return {
    a: sa,
    b: sb,
    pcrs,
    pcrsCompared: !!(ra?.pcrs && rb?.pcrs),
    firmwareOnlyA: fa && fb ? without(fa, fb) : [],
    firmwareOnlyB: fa && fb ? without(fb, fa) : [],
    firmwareCompared: !!(fa && fb),
    imaChanges: ima.items,
    moreImaChanges: ima.more,
  };
}
