/** Typed errors of the event-log parsers and replayers. */

/** A log (firmware or IMA, file or wire form) that cannot be parsed. */
export class EventLogError extends Error {
  override name = 'EventLogError';

  constructor(
    /** What is wrong, without the location. */
    readonly detail: string,
    /** Byte offset in the input where the bad record starts, when known. */
    readonly offset?: number,
    /** 0-based number of the record that failed, when known. */
    readonly eventIndex?: number,
  ) {
    super(
      eventIndex === undefined && offset === undefined
        ? detail
        : `${detail} (${[
            eventIndex === undefined ? '' : `event ${eventIndex}`,
            offset === undefined ? '' : `offset ${offset}`,
          ].filter(Boolean).join(', ')})`,
    );
  }
}

/** One PCR whose replayed value differs from the value it was compared with. */
export interface PcrMismatch {
  bank: string;
  pcr: number;
  expected: string;
  replayed: string;
}

/**
 * Replaying a log did not give the PCR values it was checked against
 * (go-attestation's ReplayError{InvalidPCRs}): names every PCR that failed.
 */
export class ReplayError extends Error {
  override name = 'ReplayError';

  constructor(readonly invalidPcrs: PcrMismatch[]) {
    super(`event log does not replay to the expected PCRs: ${invalidPcrs.map((m) => `${m.bank}:${m.pcr}`).join(', ')}`);
  }
}
