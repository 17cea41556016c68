/**
 * Plain-value scenarios for the verification core: a host whose TPM holds
 * known PCRs, the quote digest it would sign, and the logs it sends, built
 * without a TPM, a database or a socket.
 */
import { createHash } from 'node:crypto';
import { pcrDigest } from '../../../shared/crypto/quote.js';
import { extendPcr } from '../../../shared/eventlog/pcr-values.js';
import type { ImaEvent } from '../../../shared/eventlog/ima/event.js';
import { ImaKeyring } from '../../../shared/eventlog/ima/signature.js';
import { TPM_ALG, TPM_ST } from '../../../shared/tpm/constants.js';
import { emptyPcrBanks, type PcrBanks } from '../../../shared/tpm/pcr-banks.js';
import { buildPcrSelection, marshalPcrSelection } from '../../../shared/tpm/pcr-selection.js';
import type { TpmAttest } from '../../../shared/tpm/attest.js';
import type { CheckedFirmwareLog, CheckedImaEvent } from '../../../server/verify/evidence.js';
import type { JudgeInput } from '../../../server/verify/judge.js';
import type { AcceptedState, VerifyPolicy } from '../../../server/verify/state.js';

export const FIRMWARE = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const SELECTION = buildPcrSelection([[TPM_ALG.SHA256, [...FIRMWARE, 10]], [TPM_ALG.SHA1, []]]);
export const POLICY: VerifyPolicy = { firmwarePcrs: FIRMWARE, imaPcr: 10, imaKeys: new ImaKeyring(), pcrSelection: SELECTION };
export const NOW = new Date('2026-12-04T08:00:00Z');

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();
/** A distinct firmware PCR value per (pcr, variant). */
export const fwValue = (pcr: number, variant = 'good') => sha256(`pcr ${pcr} ${variant}`);

/** An ima-ng entry (template data: digest field, name field; SHA-1 template hash). */
export function imaEntry(index: number, file: string, tamper?: 'data' | 'template-hash'): CheckedImaEvent {
  const field = (b: Buffer) => Buffer.concat([Buffer.from(Uint32Array.of(b.length).buffer), b]);
  const data = Buffer.concat([field(Buffer.concat([Buffer.from('sha256:\0'), sha256(file)])), field(Buffer.from(`${file}\0`))]);
  const templateHash = createHash('sha1').update(data).digest();
  if (tamper === 'template-hash') templateHash[0]! ^= 1;
  const event: ImaEvent = { index, pcrIndex: 10, templateHash, templateName: 'ima-ng', templateData: data, littleEndian: true };
  return {
    event, index, pcrIndex: 10, wire: Buffer.alloc(0), templateName: 'ima-ng', filename: file, filehash: null, templateHashAlg: 'sha1',
    badevent: false, nosig: false, nokey: false, badsig: false,
  };
}

/** PCR 10 (SHA-256) after extending `start` with each entry's SHA-256 template data hash (Linux 5.8+). */
export function imaPcr(start: Buffer, entries: CheckedImaEvent[]): Buffer {
  return entries.reduce((pcr, e) => extendPcr('sha256', pcr, sha256(e.event.templateData)), start);
}

export function firmwareLog(values: Map<number, Buffer>, events = 40): CheckedFirmwareLog {
  return {
    wire: Array.from({ length: events }, () => Buffer.alloc(0)),
    log: { events: [] } as unknown as CheckedFirmwareLog['log'],
    replay: { pcrs: new Map([['sha256', values]]), startupLocality: null, skippedBanks: [] },
  };
}

export function banks(values: Map<number, Buffer>, pcr10?: Buffer): PcrBanks {
  const b = emptyPcrBanks();
  for (const [pcr, v] of values) b.sha256[pcr] = v.toString('hex');
  if (pcr10) b.sha256[10] = pcr10.toString('hex');
  return b;
}

export const goodFirmware = () => new Map(FIRMWARE.map((p) => [p, fwValue(p)]));

/** A quote over the TPM's true PCRs 0-10. */
export function attest(tpmFirmware: Map<number, Buffer>, tpmPcr10: Buffer, clock = { resetCount: 1, restartCount: 0 }): TpmAttest {
  const values = [...FIRMWARE.map((p) => tpmFirmware.get(p)!), tpmPcr10];
  return {
    magic: 0xff544347, type: TPM_ST.ATTEST_QUOTE, qualifiedSigner: Buffer.alloc(0), extraData: Buffer.alloc(32),
    clockInfo: { clock: 0n, safe: true, ...clock }, firmwareVersion: 0n,
    attested: { quote: { pcrSelect: SELECTION, pcrDigest: pcrDigest(TPM_ALG.SHA256, values) } },
  };
}

/** A machine mid-boot: white-listed firmware, `accepted` IMA entries already verified. */
export function sameBootState(accepted: CheckedImaEvent[]): AcceptedState {
  const pcr10 = imaPcr(Buffer.alloc(32), accepted);
  return {
    imaevents: accepted.length,
    imapcr: { sha256: pcr10.toString('hex'), sha1: null },
    whitelist: banks(goodFirmware()),
    resetCount: 1,
    restartCount: 0,
    previous: banks(goodFirmware(), pcr10),
  };
}

export function input(over: Partial<JudgeInput> & Pick<JudgeInput, 'quote' | 'state'>, newBoot: boolean): JudgeInput {
  return {
    nonce: { found: { newBoot, pcrselect: marshalPcrSelection(SELECTION).toString('hex'), expires: new Date(NOW.getTime() + 60_000), used: false } },
    policy: POLICY,
    now: NOW,
    ...over,
  };
}
