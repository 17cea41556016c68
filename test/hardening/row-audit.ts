/**
 * Row-by-row consistency of what the server committed (DESIGN.md "one
 * transaction per request"): every attestlog row whose quote arrived is
 * either fully accepted — PCRs stored, its firmware events all in bioslog,
 * its IMA events one contiguous run in imalog ending at its imaevents — or
 * refused with a recorded code and no accepted event rows (its evidence is
 * kept marked refused); a row still waiting for
 * its quote has no event rows. Per machine, the IMA rows of the current boot
 * are entries 0 … imaevents-1 exactly once, and imapcr is the PCR 10 of the
 * accepted attestation that got there.
 */
import type { SqlDriver } from '../../db/driver.js';
import { attestationCodec, machineCodec } from '../../db/rows.js';
import type { AttestationRow, MachineRow } from '../../db/store.js';
import { IMA_PCR } from '../../shared/tpm/pcr-roles.js';

export interface Audit {
  attestations: AttestationRow[];
  machines: MachineRow[];
  accepted: number;
  refused: number;
  pending: number;
  imaRows: number;
  biosRows: number;
  /** Refusals by recorded code. */
  codes: Record<string, number>;
  /** What is inconsistent, one sentence per row; empty when all is well. */
  problems: string[];
}

interface EventCount {
  n: number;
  lo: number;
  hi: number;
  distinct: number;
}


async function countsBy(driver: SqlDriver, sql: string): Promise<Map<number, EventCount>> {
  const out = new Map<number, EventCount>();
  for (const r of await driver.all(sql)) {
    out.set(Number(r.k), { n: Number(r.n), lo: Number(r.lo), hi: Number(r.hi), distinct: Number(r.d) });
  }
  return out;
}

export async function auditRows(driver: SqlDriver): Promise<Audit> {
  const attestations = (await driver.all(`SELECT ${attestationCodec.select()} FROM attestlog ORDER BY id`)).map((r) => attestationCodec.decode(r));
  const machines = (await driver.all(`SELECT ${machineCodec.select()} FROM machines ORDER BY id`)).map((r) => machineCodec.decode(r));
  // The accepted chain only: a refused quote's events are evidence kept apart (refused = 1).
  const ima = await countsBy(driver,
    'SELECT attestation_id AS k, COUNT(*) AS n, MIN(entrynum) AS lo, MAX(entrynum) AS hi, COUNT(DISTINCT entrynum) AS d FROM imalog WHERE refused = 0 GROUP BY attestation_id');
  const bios = await countsBy(driver,
    'SELECT attestation_id AS k, COUNT(*) AS n, MIN(entrynum) AS lo, MAX(entrynum) AS hi, COUNT(DISTINCT entrynum) AS d FROM bioslog WHERE refused = 0 GROUP BY attestation_id');
  const audit: Audit = { attestations, machines, accepted: 0, refused: 0, pending: 0, imaRows: 0, biosRows: 0, codes: {}, problems: [] };
  for (const c of ima.values()) audit.imaRows += c.n;
  for (const c of bios.values()) audit.biosRows += c.n;

  for (const a of attestations) {
    const i = ima.get(a.id);
    const b = bios.get(a.id);
    const bad = (why: string) => audit.problems.push(`attestlog ${a.id} (${a.hostname}): ${why}`);
    if (a.quoted === null) {
      audit.pending++;
      if (i || b || a.errorCode !== null || a.pcrs !== null) bad('no quote arrived, yet it has results or event rows');
    } else if (a.errorCode !== null) {
      audit.refused++;
      audit.codes[a.errorCode] = (audit.codes[a.errorCode] ?? 0) + 1;
      if (!/^[89][0-9a-f]{7}$/.test(a.errorCode)) bad(`refusal code ${a.errorCode} is malformed`);
      if (i || b) bad(`refused ${a.errorCode} but has ${i?.n ?? 0} IMA and ${b?.n ?? 0} firmware rows`);
      if (a.pcrs !== null) bad('refused but has PCR values');
    } else {
      audit.accepted++;
      if (a.quoteverified !== true || a.logverified !== true || a.pcrs?.sha256[IMA_PCR] == null || a.imaevents === null) {
        bad('accepted without a verified quote, logs, PCR 10 or imaevents');
      }
      const firmware = a.logentries ?? 0;
      if ((b?.n ?? 0) !== firmware || (b && (b.lo !== 0 || b.hi !== firmware - 1 || b.distinct !== firmware))) {
        bad(`logentries ${a.logentries} but ${b?.n ?? 0} firmware rows`);
      }
      if (a.newBoot !== (a.logentries !== null)) bad(`new boot ${a.newBoot} with logentries ${a.logentries}`);
      if (i && (i.distinct !== i.n || i.hi - i.lo + 1 !== i.n || i.hi !== (a.imaevents ?? 0) - 1)) {
        bad(`IMA rows ${i.lo}..${i.hi} (${i.n}) do not end at imaevents ${a.imaevents}`);
      }
    }
  }

  const boots = await driver.all(
    `SELECT i.machine_id AS k, COUNT(*) AS n, MIN(i.entrynum) AS lo, MAX(i.entrynum) AS hi, COUNT(DISTINCT i.entrynum) AS d
       FROM imalog i JOIN machines m ON m.id = i.machine_id AND m.boottime = i.boottime WHERE i.refused = 0 GROUP BY i.machine_id`);
  const perMachine = new Map(boots.map((r) => [Number(r.k), { n: Number(r.n), lo: Number(r.lo), hi: Number(r.hi), distinct: Number(r.d) }]));
  for (const m of machines) {
    if (m.imaevents === null) continue;
    const bad = (why: string) => audit.problems.push(`machine ${m.hostname}: ${why}`);
    const c = perMachine.get(m.id) ?? { n: 0, lo: 0, hi: -1, distinct: 0 };
    if (c.n !== m.imaevents || c.distinct !== c.n || c.lo !== 0 || c.hi !== m.imaevents - 1) {
      bad(`imaevents ${m.imaevents} but this boot's IMA rows are ${c.lo}..${c.hi} (${c.n} rows, ${c.distinct} distinct)`);
    }
    const last = attestations.filter((a) => a.machineId === m.id && a.quoted && a.errorCode === null && a.boottime === m.boottime && a.imaevents === m.imaevents);
    if (last.length === 0) bad(`no accepted attestation reached imaevents ${m.imaevents}`);
    else if (last.some((a) => a.pcrs?.sha256[IMA_PCR] !== m.imapcr)) bad(`imapcr ${m.imapcr} is not the PCR 10 of the attestation that reached ${m.imaevents}`);
  }
  return audit;
}

/** Rows per table, for "nothing changed" checks. */
export async function tableCounts(driver: SqlDriver): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ['machines', 'attestlog', 'bioslog', 'imalog']) {
    out[table] = Number((await driver.all(`SELECT COUNT(*) AS n FROM \`${table}\``))[0]!.n);
  }
  return out;
}

/** The attestlog row a nonce was issued for. */
export async function attestationByNonce(driver: SqlDriver, nonceHex: string): Promise<AttestationRow | undefined> {
  const rows = await driver.all(`SELECT ${attestationCodec.select()} FROM attestlog WHERE nonce = ?`, [nonceHex]);
  return rows.length ? attestationCodec.decode(rows[0]!) : undefined;
}
