/** One report with the context needed to judge it: its machine's white list and the report before it. */
import type { MachineSummary } from '../../db/queries.js';
import type { AttestationRow } from '../../db/store.js';
import { stateOptions, type WebContext } from '../context.js';
import { NotFoundError } from '../params.js';
import { decodeReportVerdict, type ReportCheck, type ReportDiagnosis } from '../../db/report-verdict.js';
import type { ReportEvidence } from '../../db/web-queries.js';
import { comparePcrs, diagnosisOf, flagsOf, outcomeOf, stepsOf, type Flag, type Outcome, type PcrRow, type Step } from '../report-view.js';

export interface ReportDetail {
  report: AttestationRow;
  machine: MachineSummary;
  /** The machine's report before this one, if any. */
  previous: AttestationRow | null;
  outcome: Outcome;
  flags: Flag[];
  steps: Step[];
  pcrs: PcrRow[];
  diagnosis: ReportDiagnosis;
  /** Every check the server ran with its result; empty for reports stored before verdicts were kept. */
  checks: ReportCheck[];
  evidence: ReportEvidence;
}

export async function loadReport(ctx: WebContext, id: number): Promise<ReportDetail> {
  const report = await ctx.data.report(id);
  if (!report) throw new NotFoundError(`no report ${id}`);
  const [machine, before, evidence] = await Promise.all([
    ctx.data.machine(report.machineId, stateOptions(ctx)),
    ctx.data.reports({ machineId: report.machineId, cursor: String(id), limit: 1 }),
    ctx.data.reportEvidence(id),
  ]);
  const verdict = decodeReportVerdict(report.verdict);
  if (!machine) throw new NotFoundError(`the machine of report ${id} was deleted`);
  const previous = before.items[0] ?? null;
  return {
    report,
    machine,
    previous,
    outcome: outcomeOf(report),
    flags: flagsOf(report),
    steps: stepsOf(report),
    pcrs: comparePcrs(report.pcrs, machine.machine.whitelist, previous?.pcrs ?? null, verdict?.replayed ?? null),
    diagnosis: diagnosisOf(report, verdict),
    checks: verdict?.checks ?? [],
    evidence,
  };
}

/** The quote request as stored (JSON text without events), parsed when it is JSON. */
export function storedQuote(report: AttestationRow): unknown {
  if (report.quote === null) return null;
  try {
    return JSON.parse(report.quote) as unknown;
  } catch {
    return report.quote;
  }
}
