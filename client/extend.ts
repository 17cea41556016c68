import { hash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { HASH_ALGS, hashAlgId, type HashAlg } from '../shared/tpm/constants.js';
import { parseFirmwareLog } from '../shared/eventlog/firmware/event.js';
import { EV } from '../shared/eventlog/firmware/event-types.js';
import { readImaLogFile } from '../shared/eventlog/ima/stream.js';
import { isViolation, templateHashInput } from '../shared/eventlog/ima/template.js';
import { openAttestationTpm } from './attestation-tpm.js';

const NO_PCR = 0xffffffff;

export interface ExtendOptions {
  tcti: string;
  biosLog?: string;
  imaLog?: string;
  imaHashAlg?: HashAlg;
  /** First IMA event to extend (the earlier ones were extended before). */
  imaFrom?: number;
  /** Stop after this many IMA events. */
  imaCount?: number;
  /** Banks to extend IMA events into. */
  imaBanks?: HashAlg[];
  logger?: Logger;
}

/**
 * Replays measurement logs into a simulator's (or the software TPM's) PCRs, as IBM's eventextend and
 * imaextend do, so a software TPM holds what the logs describe. Firmware
 * events extend every bank they carry a digest for (EV_NO_ACTION never,
 * TCG PC Client PFP §10.4.5); IMA events extend PCR 10 the way Linux 5.8+
 * does: the SHA-1 template hash in SHA-1, H_bank(template data) elsewhere,
 * 0xFF… for violations.
 */
export async function extendLogs(opts: ExtendOptions): Promise<{ firmwareEvents: number; imaEvents: number }> {
  const tpm = await openAttestationTpm(opts.tcti, { logger: opts.logger });
  let firmwareEvents = 0;
  let imaEvents = 0;
  try {
    await tpm.startup();
    if (opts.biosLog) {
      const log = parseFirmwareLog(await readFile(opts.biosLog));
      for (const ev of log.events) {
        if (ev.eventType === EV.NO_ACTION || ev.pcrIndex === NO_PCR) continue;
        const digests = ev.digests.filter((d) => HASH_ALGS.has(d.alg)).map((d) => ({ hashAlg: d.alg, digest: d.digest }));
        await tpm.extend(ev.pcrIndex, digests);
        firmwareEvents++;
      }
    }
    if (opts.imaLog) {
      const logAlg = opts.imaHashAlg ?? 'sha1';
      const banks = opts.imaBanks ?? ['sha1', 'sha256'];
      const from = opts.imaFrom ?? 0;
      const until = opts.imaCount === undefined ? Infinity : from + opts.imaCount;
      for await (const ev of readImaLogFile(opts.imaLog, { templateHashAlg: logAlg })) {
        if (ev.index < from) continue;
        if (ev.index >= until) break;
        const violation = isViolation(ev);
        const digests = banks.map((alg) => {
          const size = HASH_ALGS.get(hashAlgId(alg))!.size;
          const digest = violation ? Buffer.alloc(size, 0xff) : alg === logAlg ? ev.templateHash : hash(alg, templateHashInput(ev), 'buffer');
          return { hashAlg: hashAlgId(alg), digest };
        });
        await tpm.extend(ev.pcrIndex, digests);
        imaEvents++;
      }
    }
  } finally {
    await tpm.close();
  }
  return { firmwareEvents, imaEvents };
}
