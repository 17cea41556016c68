/**
 * The event-log code alone, on one core: firmware logs (the kernel's
 * little-endian file and IBM's big-endian wire form) parsed and replayed, and
 * IMA logs parsed, template-hash checked and replayed into PCR 10, with and
 * without ima-sig signature checks. Every run also checks its result (the
 * replayed PCR 10, the signature verdicts), so a figure never comes from a
 * code path that silently did nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseFirmwareLog, type FirmwareLog } from '../../shared/eventlog/firmware/event.js';
import { replayFirmwareLog } from '../../shared/eventlog/firmware/replay.js';
import { decodeFirmwareWireEvents, encodeFirmwareWireEvents } from '../../shared/eventlog/firmware/wire.js';
import { iterateImaBinaryLog } from '../../shared/eventlog/ima/event.js';
import { ImaReplayer } from '../../shared/eventlog/ima/replay.js';
import { ImaKeyring } from '../../shared/eventlog/ima/signature.js';
import { decodeImaTemplate } from '../../shared/eventlog/ima/template.js';
import { hashAlgId } from '../../shared/tpm/constants.js';
import { checkImaEvents } from '../../server/ima-evidence.js';
import { measureRate } from './floor.js';
import { syntheticFirmwareLog } from './firmware-log.js';
import { imaBinaryLog, SyntheticImaLog, type ImaSigner, type TemplateHashAlg } from './ima-log.js';
import { SoftwarePcrBanks } from '../../client/simulator/pcr-banks.js';

const BIOS_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/eventlogs/bios/', import.meta.url));

export interface FirmwareFigures {
  logs: number;
  eventsPerPass: number;
  /** parseFirmwareLog + replayFirmwareLog on binary_bios_measurements files. */
  kernelFormEventsPerS: number;
  /** decodeFirmwareWireEvents + replayFirmwareLog on `event<N>` values, as the server does. */
  wireFormEventsPerS: number;
}

export interface ImaFigures {
  events: number;
  signedEvents: number;
  /** iterateImaBinaryLog only. */
  parseEventsPerS: number;
  /** Parse + template-hash check + replay of PCR 10's SHA-256 bank (ImaReplayer). */
  verifyReplayEventsPerS: number;
  /** The same plus decodeImaTemplate + ImaKeyring.verifyEvent on a log where every entry is signed. */
  verifyReplaySigEventsPerS: number;
  /** The server's checkImaEvents on the wire form (decode, hash check, signature verdict; no replay). */
  serverCheckEventsPerS: number;
  serverCheckSigEventsPerS: number;
  /** Sanity: the replay reproduced the software TPM's PCR 10, and every signature verified. */
  replayMatches: boolean;
  signaturesOk: number;
}

export interface ParserFigures {
  firmware: FirmwareFigures;
  ima: Record<TemplateHashAlg, ImaFigures>;
}

/** The fixture firmware logs that parse, plus the fleet's synthetic log. */
function firmwareLogs(): { binary: Buffer[]; logs: FirmwareLog[] } {
  const binary: Buffer[] = [];
  const logs: FirmwareLog[] = [syntheticFirmwareLog(1)];
  for (const name of readdirSync(BIOS_FIXTURES).filter((n) => n.endsWith('.bin')).sort()) {
    const bytes = readFileSync(`${BIOS_FIXTURES}${name}`);
    try {
      const log = parseFirmwareLog(bytes);
      replayFirmwareLog(log);
      logs.push(log);
      binary.push(bytes);
    } catch {
      // The deliberately broken fixtures are left out.
    }
  }
  return { binary, logs };
}

export function measureFirmwareParsers(minMs: number): FirmwareFigures {
  const { binary, logs } = firmwareLogs();
  const wire = logs.map((log) => encodeFirmwareWireEvents(log));
  const kernelEvents = logs.slice(1).reduce((n, l) => n + l.events.length, 0);
  const wireEvents = wire.reduce((n, w) => n + w.length, 0);
  return {
    logs: logs.length,
    eventsPerPass: wireEvents,
    kernelFormEventsPerS: measureRate(kernelEvents, minMs, () => {
      for (const b of binary) replayFirmwareLog(parseFirmwareLog(b));
    }),
    wireFormEventsPerS: measureRate(wireEvents, minMs, () => {
      for (const w of wire) replayFirmwareLog(decodeFirmwareWireEvents(w));
    }),
  };
}

function syntheticImaLog(alg: TemplateHashAlg, events: number, signer: ImaSigner | null): { log: SyntheticImaLog; pcrs: SoftwarePcrBanks } {
  const pcrs = new SoftwarePcrBanks();
  const log = new SyntheticImaLog(
    signer ? { templateHashAlg: alg, template: 'ima-sig', signEvery: 1, signer } : { templateHashAlg: alg, template: 'ima-ng', signEvery: 0 },
    pcrs,
    `parser-${alg}-${signer ? 'sig' : 'plain'}`,
  );
  log.measureBootAggregate();
  log.measureFiles(events - 1);
  return { log, pcrs };
}

export function measureImaParsers(alg: TemplateHashAlg, events: number, signedEvents: number, signer: ImaSigner, minMs: number): ImaFigures {
  const plain = syntheticImaLog(alg, events, null);
  const signed = syntheticImaLog(alg, signedEvents, signer);
  const plainBinary = imaBinaryLog(plain.log.held());
  const signedBinary = imaBinaryLog(signed.log.held());
  const plainWire = plain.log.wireFrom(0);
  const signedWire = signed.log.wireFrom(0);
  const opts = { templateHashAlg: alg };
  let replayMatches = true;
  let signaturesOk = 0;

  const replay = (binary: Buffer, expected: Buffer, keyring: ImaKeyring | null): void => {
    const replayer = new ImaReplayer({ templateHashAlg: alg, banks: ['sha256'] });
    let ok = 0;
    for (const ev of iterateImaBinaryLog(binary, opts)) {
      if (replayer.extend(ev) !== 'ok') replayMatches = false;
      if (keyring && keyring.verifyEvent(decodeImaTemplate(ev)) === 'ok') ok++;
    }
    if (!replayer.pcr('sha256', 10).equals(expected)) replayMatches = false;
    if (keyring) signaturesOk = ok;
  };

  const noKeys = new ImaKeyring();
  return {
    events,
    signedEvents,
    parseEventsPerS: measureRate(events, minMs, () => {
      for (const ev of iterateImaBinaryLog(plainBinary, opts)) if (ev.pcrIndex !== 10) replayMatches = false;
    }),
    verifyReplayEventsPerS: measureRate(events, minMs, () => replay(plainBinary, plain.pcrs.value('sha256', 10), null)),
    // A fresh keyring per pass: its verdict cache must not turn the measurement into lookups.
    verifyReplaySigEventsPerS: measureRate(signedEvents, minMs, () =>
      replay(signedBinary, signed.pcrs.value('sha256', 10), new ImaKeyring([signer.publicKey]))),
    serverCheckEventsPerS: measureRate(events, minMs, () => {
      checkImaEvents(plainWire, 0, hashAlgId(alg), noKeys);
    }),
    serverCheckSigEventsPerS: measureRate(signedEvents, minMs, () => {
      checkImaEvents(signedWire, 0, hashAlgId(alg), new ImaKeyring([signer.publicKey]));
    }),
    replayMatches,
    signaturesOk,
  };
}

export function measureParsers(imaEvents: number, signedEvents: number, signer: ImaSigner, minMs: number): ParserFigures {
  return {
    firmware: measureFirmwareParsers(minMs),
    ima: {
      sha1: measureImaParsers('sha1', imaEvents, signedEvents, signer, minMs),
      sha256: measureImaParsers('sha256', imaEvents, signedEvents, signer, minMs),
    },
  };
}
