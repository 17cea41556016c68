/**
 * What a machine's assigned policies add to judging a report: the IMA rule
 * the verification core applies to each accepted entry, the count of entries
 * not allowed over the boot (a machine that ran something not allowed stays
 * failing until it reboots), and whether the PCRs off the reference values
 * or white list are news since the previous accepted report.
 */
import type { MachineRow } from '../../db/store.js';
import { pcrDepartures, type PcrBanks, type PcrDeparture } from '../../shared/tpm/pcr-banks.js';
import type { CheckedImaEvent } from '../verify/evidence.js';
import type { ImaEntryRule } from '../verify/state.js';
import { checkImaPolicy, imaPolicyReason, type CompiledImaPolicy, type ImaEntryFacts, type ImaPolicyViolation } from './ima-policy-check.js';

function facts(e: CheckedImaEvent): ImaEntryFacts {
  return { entrynum: e.index, template: e.templateName, path: e.filename, filehash: e.filehash };
}

/** The policy as a rule of the verification core: its reasons name the entries in the report's diagnosis. */
export function imaPolicyRule(policy: CompiledImaPolicy): ImaEntryRule {
  return (e) => imaPolicyReason(policy, facts(e));
}

export interface ImaPolicyOutcome {
  /** Violations of this boot up to and including this report; null when no policy is assigned. */
  boot: number | null;
  /** The violations among this report's entries. */
  violations: ImaPolicyViolation[];
}

export function applyImaPolicy(policy: CompiledImaPolicy | null, accepted: readonly CheckedImaEvent[], m: Pick<MachineRow, 'policyViolations'>, newBoot: boolean): ImaPolicyOutcome {
  if (!policy) return { boot: null, violations: [] };
  const violations = checkImaPolicy(policy, accepted.map(facts));
  return { boot: (newBoot ? 0 : (m.policyViolations ?? 0)) + violations.length, violations };
}

/** True when `off` (this report's departures from `reference`) differ from the previous accepted report's. */
export function newDepartures(off: readonly PcrDeparture[], previous: PcrBanks | null, reference: PcrBanks | null, firmwarePcrs: readonly number[]): boolean {
  const key = (d: readonly PcrDeparture[]) => d.map((x) => `${x.bank}:${x.pcr}:${x.found}`).join(',');
  const before = previous && reference ? pcrDepartures(previous, reference, firmwarePcrs) : [];
  return key(off) !== key(before);
}
