/**
 * The real thing beside the load: a provisioned swtpm whose PCRs hold the
 * fixture firmware log and the first IMA entries of acs_imasig.bin, enrolled
 * and attested by the real client (client/enroll.ts, client/attest.ts) over
 * TCP, to whichever server the test names for each call.
 */
import { join } from 'node:path';
import type { Test } from 'tap';
import { attest, type AttestResult } from '../../client/attest.js';
import { enroll } from '../../client/enroll.js';
import { extendLogs } from '../../client/extend.js';
import { BIOS_LOG, scratchDir, writeImaLog } from '../helpers/attested-host.js';
import { startSwtpm, type Swtpm } from '../helpers/swtpm.js';
import type { Endpoint } from './stepped-host.js';

export const REAL_BOOTTIME = '2026-11-25 10:00:00';

export class RealHost {
  private constructor(
    readonly hostname: string,
    readonly tpm: Swtpm,
    private readonly stateDir: string,
    private readonly imaLog: string,
    /** IMA entries in the host's log (all extended into PCR 10). */
    readonly imaEvents: number,
  ) {}

  /** Starts and provisions the swtpm and measures the logs into it. */
  static async start(t: Test, hostname: string, imaEvents = 20): Promise<RealHost> {
    const [tpm, stateDir] = await Promise.all([startSwtpm({ t }), scratchDir(t)]);
    const imaLog = join(stateDir, 'ima.bin');
    await writeImaLog(imaLog, imaEvents);
    await extendLogs({ tcti: tpm.tcti, biosLog: BIOS_LOG, imaLog });
    return new RealHost(hostname, tpm, stateDir, imaLog, imaEvents);
  }

  /** EK CA certificates the server must trust for this TPM's EK certificate. */
  get trust(): string[] {
    return [this.tpm.caCertPem, this.tpm.intermediateCertPem];
  }

  async enroll(ep: Endpoint): Promise<void> {
    await enroll({ server: ep, tcti: this.tpm.tcti, alg: 'rsa', hostname: this.hostname, stateDir: this.stateDir, timeoutMs: 60_000 });
  }

  attest(ep: Endpoint): Promise<AttestResult> {
    return attest({
      server: ep,
      tcti: this.tpm.tcti,
      stateDir: this.stateDir,
      userid: 'hardening',
      bootTime: REAL_BOOTTIME,
      biosLog: BIOS_LOG,
      imaLog: this.imaLog,
      imaHashAlg: 'sha1',
      timeoutMs: 60_000,
    });
  }
}
