/**
 * The benchmark's machines: software TPMs with EK certificates from the
 * bench CA. Most keys are ECC P-256 because RSA key generation (~100 ms each)
 * would dominate a quick run; every `rsaEvery`-th host has an RSA-2048 EK and
 * AK so both verification paths stay in the measured mix (`--ak rsa` makes
 * every AK RSA).
 */
import { randomBytes } from 'node:crypto';
import { BenchHost } from './bench-host.js';
import type { ImaLogProfile } from './ima-log.js';
import type { SoftwareEkCa } from '../../client/simulator/software-ek-ca.js';
import { SoftwareTpm, type KeyAlg } from '../../client/simulator/software-tpm.js';

export type AkMode = KeyAlg | 'mixed';

export interface FleetOptions {
  ca: SoftwareEkCa;
  count: number;
  /** Prefix of every hostname; unique per run so an existing database is never disturbed. */
  prefix: string;
  akMode: AkMode;
  /** In mixed mode, one host in this many gets RSA keys. */
  rsaEvery: number;
  ima: ImaLogProfile;
  /** IMA files measured at boot, before the first attestation. */
  bootImaFiles: number;
}

export function runPrefix(): string {
  return `bench-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
}

export function createFleet(opts: FleetOptions): BenchHost[] {
  const hosts: BenchHost[] = [];
  for (let i = 0; i < opts.count; i++) {
    const rsa = i % opts.rsaEvery === opts.rsaEvery - 1;
    const hostname = `${opts.prefix}-${String(i).padStart(4, '0')}`;
    const tpm = SoftwareTpm.create({
      label: hostname,
      ca: opts.ca,
      ekAlg: rsa ? 'rsa' : 'ecc',
      akAlg: opts.akMode === 'mixed' ? (rsa ? 'rsa' : 'ecc') : opts.akMode,
    });
    const host = new BenchHost(hostname, tpm, i, opts.ima);
    host.reboot(opts.bootImaFiles);
    hosts.push(host);
  }
  return hosts;
}
