/**
 * The diagnosis of a verdict: one sentence, then the PCRs, firmware events
 * and IMA entries an investigator should look at first. Built from what the
 * checks found; the firmware events of suspect PCRs are added by
 * withFirmwareEvents once the orchestrator has read the last accepted boot's
 * events of those PCRs.
 */
import type { PcrDeparture } from '../../shared/tpm/pcr-banks.js';
import type { JudgeInput, Findings } from './judge.js';
import type { Diagnosis, NamedEvent, SuspectPcr } from './verdict.js';
import { referenceLabel } from './state.js';

const pcrName = (p: { pcr: number; bank: string }) => `PCR ${p.pcr} (${p.bank})`;
const listed = (items: string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

function departures(d: PcrDeparture[], reason: string): SuspectPcr[] {
  return d.map((x) => ({ bank: x.bank, pcr: x.pcr, reason, expected: x.expected, replayed: x.found }));
}

export function diagnose(f: Findings, input: JudgeInput): { diagnosis: Diagnosis; suspectFirmwarePcrs: number[] } {
  const pcrs: SuspectPcr[] = [];
  let summary: string;
  const ex = f.explanation;
  const imaPcr = input.policy.imaPcr;
  if (f.refusal?.reason === 'signature') {
    summary = 'Refused: the quote\'s signature does not verify with the enrolled AK, so it is not this host\'s evidence.';
  } else if (f.refusal?.reason === 'digest-mismatch' && ex?.kind === 'firmware') {
    for (const u of ex.units) pcrs.push({ ...u, reason: 'the firmware log does not reproduce the quoted value; the white-listed value does' });
    summary = `Refused: the firmware log does not reproduce ${listed(ex.units.map(pcrName))}; with the white-listed value the quoted digest matches, so the log was altered.`;
  } else if (f.refusal?.reason === 'digest-mismatch' && ex?.kind === 'ima') {
    const p = f.prepared!;
    for (const b of p.banks.filter((b) => b.pcrs.includes(imaPcr))) {
      if (b.alg !== 'sha256' && b.alg !== 'sha1') continue;
      const replayed = f.replayedPcrs?.[b.alg][imaPcr];
      pcrs.push({ bank: b.alg, pcr: imaPcr, reason: `the IMA entries sent from ${p.start} on do not reproduce PCR ${imaPcr}`, ...(replayed ? { replayed } : {}) });
    }
    const because = {
      whitelist: 'the firmware PCRs are the white-listed values',
      previous: 'the firmware PCRs are the values verified earlier this boot',
      'template-hash': 'entries whose template hash does not match their data show it was altered after measurement',
    }[ex.basis];
    summary = `Refused: the IMA log does not reproduce PCR ${imaPcr} from entry ${p.start} on; ${because}.`;
  } else if (f.refusal?.reason === 'digest-mismatch') {
    const candidates = ex?.kind === 'none' ? ex.candidates : [];
    for (const u of candidates) pcrs.push({ ...u, reason: 'differs from the white list; substituting the white-listed value does not explain the digest' });
    summary = candidates.length
      ? `Refused: the logs do not reproduce the quoted digest, and no substitution of ${listed(candidates.map(pcrName))} by its white-listed value explains it.`
      : 'Refused: the logs do not reproduce the quoted digest, and there is no white list yet to tell which PCR is wrong.';
  } else if (f.refusal) {
    summary = `Refused: ${f.refusal.message}.`;
  } else {
    const parts: string[] = [];
    if (f.offWhitelist.length) parts.push(`${listed(f.offWhitelist.map(pcrName))} differ${f.offWhitelist.length === 1 ? 's' : ''} from ${referenceLabel(input.state)}`);
    if (f.changed.length) parts.push(`${listed(f.changed.map(pcrName))} changed since the previous attestation`);
    if (f.ima?.total) parts.push(`${f.ima.total} IMA entr${f.ima.total === 1 ? 'y is' : 'ies are'} flagged`);
    summary = parts.length ? `Accepted, but ${listed(parts)}.` : 'Accepted: every check passed.';
  }
  const named = new Set(pcrs.map((p) => `${p.bank}:${p.pcr}`));
  pcrs.push(...departures(f.offWhitelist, `differs from ${referenceLabel(input.state)}`).filter((p) => !named.has(`${p.bank}:${p.pcr}`)));
  pcrs.push(...departures(f.changed, 'changed since the previous attestation').filter((p) => !named.has(`${p.bank}:${p.pcr}`)));
  const firmwarePcrs = new Set(input.policy.firmwarePcrs);
  const suspectFirmwarePcrs = [...new Set(pcrs.filter((p) => firmwarePcrs.has(p.pcr)).map((p) => p.pcr))].sort((a, b) => a - b);
  const imaEntries = f.ima?.entries ?? [];
  if (f.ima && f.ima.total > imaEntries.length) summary += ` The first ${imaEntries.length} of ${f.ima.total} flagged IMA entries are named.`;
  return { diagnosis: { summary, pcrs, firmwareEvents: [], imaEntries }, suspectFirmwarePcrs };
}

export function withFirmwareEvents(d: Diagnosis, events: NamedEvent[]): Diagnosis {
  return events.length ? { ...d, firmwareEvents: events } : d;
}
