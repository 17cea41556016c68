/**
 * Naming events: the IMA entries whose template hash does not match their
 * data, whose signature is missing, from an unknown key or bad, or that a
 * policy rule refuses; and the firmware events of a suspect PCR that differ
 * from the last accepted boot's events of that PCR.
 */
import type { TemplateHashCheck } from '../../shared/eventlog/ima/replay.js';
import type { CheckedImaEvent } from './evidence.js';
import type { VerifyPolicy } from './state.js';
import type { NamedEvent } from './verdict.js';

/** Named IMA entries kept per diagnosis; every entry's flags stay on its stored row. */
export const MAX_NAMED_ENTRIES = 1000;

export const IMA_REASON = {
  unparsed: 'template data does not parse',
  templateHash: 'template hash does not match its data',
  nosig: 'no signature',
  nokey: 'signed by an unknown key',
  badsig: 'bad signature',
} as const;

export interface ImaFindings {
  entries: NamedEvent[];
  /** Entries with any problem (entries may list fewer). */
  total: number;
  templateMismatches: number;
  unsigned: number;
  policyRefused: number;
}

/** Every judged entry with something wrong, in log order; `checks[i]` is entry i's template-hash verdict. */
export function imaFindings(events: readonly CheckedImaEvent[], checks: readonly TemplateHashCheck[], policy: VerifyPolicy): ImaFindings {
  const f: ImaFindings = { entries: [], total: 0, templateMismatches: 0, unsigned: 0, policyRefused: 0 };
  events.forEach((e, i) => {
    const reasons: string[] = [];
    if (e.badevent) reasons.push(IMA_REASON.unparsed);
    if (checks[i] === 'mismatch') reasons.push(IMA_REASON.templateHash);
    if (e.badevent || checks[i] === 'mismatch') f.templateMismatches++;
    if (e.nosig) reasons.push(IMA_REASON.nosig);
    if (e.nokey) reasons.push(IMA_REASON.nokey);
    if (e.badsig) reasons.push(IMA_REASON.badsig);
    if (e.nosig || e.nokey || e.badsig) f.unsigned++;
    for (const rule of policy.imaRules ?? []) {
      const why = rule(e);
      if (why !== null) {
        reasons.push(why);
        f.policyRefused++;
      }
    }
    if (reasons.length === 0) return;
    f.total++;
    if (f.entries.length < MAX_NAMED_ENTRIES) f.entries.push({ entrynum: e.index, reason: reasons.join('; ') });
  });
  return f;
}

/** A firmware event as compared: its number in the log (the Spec ID event is 0), PCR, type and digests. */
export interface FirmwareEventDigest {
  entrynum: number;
  pcrIndex: number;
  eventtype: string;
  /** Digests as "alg:hex", sorted, one string. */
  digests: string;
}

/**
 * The events of `pcrs` in `current` that differ from the same PCR's events
 * in `accepted` (the last accepted boot), compared in their order within
 * the PCR: a changed digest or type, or an event the accepted boot lacks.
 * Events the accepted boot had and this log lacks are named by the last
 * event of that PCR.
 */
export function differingFirmwareEvents(current: readonly FirmwareEventDigest[], accepted: readonly FirmwareEventDigest[], pcrs: readonly number[]): NamedEvent[] {
  const out: NamedEvent[] = [];
  for (const pcr of pcrs) {
    const mine = current.filter((e) => e.pcrIndex === pcr);
    const theirs = accepted.filter((e) => e.pcrIndex === pcr);
    mine.forEach((e, i) => {
      const was = theirs[i];
      if (!was) out.push({ entrynum: e.entrynum, reason: `PCR ${pcr}: not in the last accepted boot's log` });
      else if (was.eventtype !== e.eventtype) out.push({ entrynum: e.entrynum, reason: `PCR ${pcr}: ${e.eventtype} where the last accepted boot had ${was.eventtype}` });
      else if (was.digests !== e.digests) out.push({ entrynum: e.entrynum, reason: `PCR ${pcr}: ${e.eventtype} digest differs from the last accepted boot's (event ${was.entrynum})` });
    });
    if (theirs.length > mine.length && mine.length > 0) {
      out.push({ entrynum: mine.at(-1)!.entrynum, reason: `PCR ${pcr}: ${theirs.length - mine.length} event(s) of the last accepted boot missing after this one` });
    }
  }
  return out.sort((a, b) => a.entrynum - b.entrynum);
}
