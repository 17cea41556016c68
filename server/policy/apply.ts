/**
 * What a machine's assigned policies say about an accepted report: IMA
 * entries its runtime policy does not allow (counted over the boot, so a
 * machine that ran something not allowed stays failing until it reboots) and
 * the firmware PCRs off its reference values, or off its own white list when
 * it has no reference values assigned.
 */
import type { MachineState, PcrBanks } from '../../db/store.js';
import type { CheckedImaEvent } from '../ima-evidence.js';
import { checkImaPolicy, type CompiledImaPolicy, type ImaPolicyViolation } from './ima-policy-check.js';
import type { NamedReference } from './policy-cache.js';
import { referenceDepartures, referenceFromWhitelist, type PcrDeparture } from './reference-values.js';

export interface ImaPolicyOutcome {
  /** Violations of this boot up to and including this report; null when no policy is assigned. */
  boot: number | null;
  /** The violations among this report's entries. */
  violations: ImaPolicyViolation[];
}

export function applyImaPolicy(policy: CompiledImaPolicy | null, events: readonly CheckedImaEvent[], m: MachineState, newBoot: boolean): ImaPolicyOutcome {
  if (!policy) return { boot: null, violations: [] };
  const violations = checkImaPolicy(
    policy,
    events.map((e) => ({ entrynum: e.index, template: e.templateName, path: e.filename, filehash: e.filehash })),
  );
  return { boot: (newBoot ? 0 : (m.policyViolations ?? 0)) + violations.length, violations };
}

export interface PcrJudgement {
  /** What the PCRs were compared with: "reference values NAME" or "white list". */
  reference: string;
  departures: PcrDeparture[];
  /** The departures differ from those of the previous accepted report: worth telling. */
  changed: boolean;
}

/**
 * The firmware PCRs of a report against the machine's reference values, or
 * its white list; null when there is nothing to compare with (the first quote
 * of a machine without reference values sets its white list).
 */
export function judgePcrs(
  pcrs: PcrBanks,
  previous: PcrBanks | null | undefined,
  reference: NamedReference | null,
  whitelist: PcrBanks | null,
  firmwarePcrs: readonly number[],
): PcrJudgement | null {
  const ref = reference
    ? { label: `reference values ${reference.name}`, values: reference.values }
    : whitelist
      ? { label: 'white list', values: referenceFromWhitelist(whitelist, firmwarePcrs, 'white list') }
      : null;
  if (!ref) return null;
  const departures = referenceDepartures(ref.values, pcrs);
  const key = (d: PcrDeparture[]) => d.map((x) => `${x.bank}:${x.pcr}:${x.actual}`).join(',');
  const before = previous ? referenceDepartures(ref.values, previous) : [];
  return { reference: ref.label, departures, changed: key(departures) !== key(before) };
}
