/**
 * An IMA log that keeps growing, for tests that attest one host again and
 * again: acs_imasig.bin followed by another copy of it, of which the TPM
 * has measured the first copy (and the firmware log) to start with. A
 * correct quote request carries the events up to what the TPM measured.
 */
import { join } from 'node:path';
import { extendLogs } from '../../client/extend.js';
import type { NonceResponse } from '../../shared/protocol/messages.js';
import { BIOS_LOG, imaWireEvents, writeImaLog, type AttestedHost } from './attested-host.js';

/** Records in acs_imasig.bin, the fixture the log repeats. */
const FIXTURE_EVENTS = 1083;

export class GrowingImaLog {
  private constructor(
    readonly path: string,
    private readonly tcti: string,
    /** IMA events the TPM has measured so far. */
    public extended: number,
  ) {}

  /** Writes the log in `dir`, makes it `host`'s, and measures the firmware log and the first copy into its TPM. */
  static async start(host: AttestedHost, dir: string): Promise<GrowingImaLog> {
    const path = join(dir, 'ima-growing.bin');
    await writeImaLog(path, Infinity, 1);
    host.imaLog = path;
    await extendLogs({ tcti: host.tpm.tcti, biosLog: BIOS_LOG, imaLog: path, imaCount: FIXTURE_EVENTS });
    return new GrowingImaLog(path, host.tpm.tcti, FIXTURE_EVENTS);
  }

  /** The TPM measures `n` more IMA events. */
  async grow(n: number): Promise<void> {
    await extendLogs({ tcti: this.tcti, imaLog: this.path, imaFrom: this.extended, imaCount: n });
    this.extended += n;
  }

  /** The IMA events a correct request for `nonce` carries: from its imaentry to what the TPM measured. */
  async since(n: NonceResponse): Promise<{ from: number; events: Buffer[] }> {
    return { from: n.imaentry, events: await imaWireEvents(this.path, n.imaentry, this.extended) };
  }
}
