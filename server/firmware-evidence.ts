/**
 * The firmware event log of a quote request: parsed and replayed, with a
 * malformed log answered by its wire code.
 */
import { ACS_ERROR, AcsError } from '../shared/protocol/errors.js';
import { EventLogError } from '../shared/eventlog/errors.js';
import { decodeFirmwareWireEvents } from '../shared/eventlog/firmware/wire.js';
import { replayFirmwareLog } from '../shared/eventlog/firmware/replay.js';
import { MarshalError } from '../shared/tpm/buffer.js';
import type { CheckedFirmwareLog } from './verify/evidence.js';

/** Parses `event0..eventK` and replays every bank (TCG PC Client PFP §10). */
export function checkFirmwareLog(wire: Buffer[]): CheckedFirmwareLog {
  try {
    const log = decodeFirmwareWireEvents(wire);
    return { wire, log, replay: replayFirmwareLog(log) };
  } catch (e) {
    if (e instanceof EventLogError || e instanceof MarshalError) {
      throw new AcsError(ACS_ERROR.BAD_BLOB, `firmware event log: ${e.message}`);
    }
    throw e;
  }
}
