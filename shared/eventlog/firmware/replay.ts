/**
 * Replays a firmware event log into PCR values, bank by bank.
 *
 * Rules (TCG PC Client PFP EV_NO_ACTION event types, and traps of real logs):
 * - EV_NO_ACTION records (including the Spec ID event) are never extended.
 * - An EV_NO_ACTION on PCR 0 carrying TCG_EfiStartupLocalityEvent
 *   ("StartupLocality\0" + locality L, PFP 1.04 §9.4.5.3 Startup Locality
 *   Event) means the TPM started from locality L (H-CRTM / Boot Guard), so
 *   PCR 0 resets to 00..0L.
 * - Records with PCR index 0xFFFFFFFF (Windows "Windows AIK" records) are skipped.
 * - A record lacking the digest of some bank is skipped for that bank only.
 * - PCRs 17-22 reset to all 0xFF (TCG PC Client Platform TPM Profile, PCR
 *   attributes); every other PCR resets to zeros.
 */
import { hash } from 'node:crypto';
import { HASH_ALGS, type HashAlg } from '../../tpm/constants.js';
import { ReplayError } from '../errors.js';
import { EV } from './event-types.js';
import { firmwareLogBanks, type FirmwareEvent, type FirmwareLog } from './event.js';
import { bankSize, diffPcrs, extendPcr, type PcrValues } from '../pcr-values.js';

export interface FirmwareReplay {
  /** Replayed values of the PCRs that have at least one measurement, per bank. */
  pcrs: PcrValues;
  /** From the StartupLocality event, or null when the log has none. */
  startupLocality: number | null;
  /** TPM_ALG_IDs of banks the log lists but this build cannot hash. */
  skippedBanks: number[];
}

const STARTUP_LOCALITY = Buffer.from('StartupLocality\0', 'latin1');
const NO_PCR = 0xffffffff;

/** The locality of a StartupLocality event, or null when `ev` is not one. */
export function startupLocality(ev: FirmwareEvent): number | null {
  if (ev.eventType !== EV.NO_ACTION || ev.pcrIndex !== 0) return null;
  if (ev.data.length !== STARTUP_LOCALITY.length + 1) return null;
  if (!ev.data.subarray(0, STARTUP_LOCALITY.length).equals(STARTUP_LOCALITY)) return null;
  return ev.data[STARTUP_LOCALITY.length];
}

/** A PCR's value after TPM2_Startup, before any measurement. */
export function initialPcrValue(alg: HashAlg, pcr: number, locality: number | null): Buffer {
  const v = Buffer.alloc(bankSize(alg), pcr >= 17 && pcr <= 22 ? 0xff : 0);
  if (pcr === 0 && locality !== null) v[v.length - 1] = locality;
  return v;
}

export function replayFirmwareLog(log: FirmwareLog): FirmwareReplay {
  let locality: number | null = null;
  for (const ev of log.events) locality = startupLocality(ev) ?? locality;

  const pcrs: PcrValues = new Map();
  const skippedBanks: number[] = [];
  for (const algId of firmwareLogBanks(log)) {
    const alg = HASH_ALGS.get(algId)?.name;
    if (!alg) {
      skippedBanks.push(algId);
      continue;
    }
    const bank = new Map<number, Buffer>();
    for (const ev of log.events) {
      if (ev.eventType === EV.NO_ACTION || ev.pcrIndex === NO_PCR) continue;
      const d = ev.digests.find((x) => x.alg === algId);
      if (!d) continue;
      const old = bank.get(ev.pcrIndex) ?? initialPcrValue(alg, ev.pcrIndex, locality);
      bank.set(ev.pcrIndex, extendPcr(alg, old, d.digest));
    }
    pcrs.set(alg, bank);
  }
  return { pcrs, startupLocality: locality, skippedBanks };
}

/** The replayed value of one PCR, or its reset value when the log never extends it. */
export function replayedPcrValue(replay: FirmwareReplay, alg: HashAlg, pcr: number): Buffer {
  return replay.pcrs.get(alg)?.get(pcr) ?? initialPcrValue(alg, pcr, replay.startupLocality);
}

/** Throws ReplayError naming every PCR of `expected` the replay does not reproduce. */
export function checkFirmwarePcrs(replay: FirmwareReplay, expected: PcrValues): void {
  const bad = diffPcrs(replay.pcrs, expected, (alg, pcr) => initialPcrValue(alg, pcr, replay.startupLocality));
  if (bad.length > 0) throw new ReplayError(bad);
}

/**
 * IMA's boot_aggregate over the replayed PCRs 0..lastPcr: H(PCR0 || … ||
 * PCRn) in one bank. Linux uses PCRs 0-7 with SHA-1, and PCRs 0-9 on a TPM 2.0
 * since 5.8 (security/integrity/ima/ima_crypto.c, ima_calc_boot_aggregate).
 */
export function bootAggregate(replay: FirmwareReplay, alg: HashAlg, lastPcr: number): Buffer {
  const parts: Buffer[] = [];
  for (let pcr = 0; pcr <= lastPcr; pcr++) parts.push(replayedPcrValue(replay, alg, pcr));
  return hash(alg, Buffer.concat(parts), 'buffer');
}
