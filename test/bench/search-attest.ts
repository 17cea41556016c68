/**
 * Incremental attestation CPU against a given database: the real server in
 * its own process, a few software-TPM hosts that enroll, attest fully once,
 * then attest again and again with `newEvents` new IMA entries each time.
 * Reports the server's and the database's CPU per attestation, so the same
 * database can be measured with and without an index.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { SoftwareEkCa } from '../../client/simulator/software-ek-ca.js';
import { PrivacyCa } from '../../server/privacy-ca.js';
import type { Endpoint } from './bench-host.js';
import { createFleet, runPrefix } from './fleet.js';
import { enrollment, firstAttestation, incremental } from './scenarios.js';
import { BenchServer } from './server-handle.js';

export interface AttestCpu {
  label: string;
  attestations: number;
  failed: number;
  serverCpuMsPerOp: number;
  databaseCpuMsPerOp: number;
  /** Server plus database. */
  totalCpuMsPerOp: number;
  sqlStatementsPerOp: number;
}

export interface AttestBench {
  /** One measured interval of `ms` milliseconds after a warm-up. */
  measure(label: string): Promise<AttestCpu>;
  close(): Promise<void>;
}

export async function attestBench(db: string, opts: { hosts: number; newEvents: number; ms: number; fileInventory?: boolean }): Promise<AttestBench> {
  const tmp = await mkdtemp(join(os.tmpdir(), 'acs-search-attest-'));
  const rootsDir = join(tmp, 'roots');
  const ca = await SoftwareEkCa.create(rootsDir);
  const caDir = join(tmp, 'privacy-ca');
  await PrivacyCa.init(caDir);
  const server = await BenchServer.start({ db, caDir, roots: [rootsDir], imaKeyFiles: [], maxConnections: 256, maxFrameBytes: 64 * 2 ** 20, fileInventory: opts.fileInventory });
  const ep: Endpoint = { host: '127.0.0.1', port: server.port };
  const hosts = createFleet({
    ca, count: opts.hosts, prefix: runPrefix(), akMode: 'ecc', rsaEvery: 1_000_000,
    ima: { templateHashAlg: 'sha1', template: 'ima-ng', signEvery: 0 }, bootImaFiles: 50,
  });
  const { enrolled } = await enrollment(server, ep, hosts, 4);
  if (enrolled.length !== hosts.length) throw new Error(`${hosts.length - enrolled.length} bench hosts did not enroll`);
  await firstAttestation(server, ep, hosts, 4);
  return {
    async measure(label) {
      // A short warm-up first: the buffer pool and the server's caches settle after an index change.
      await incremental(server, ep, hosts, opts.newEvents, hosts.length, opts.ms / 4);
      const run = await incremental(server, ep, hosts, opts.newEvents, hosts.length, opts.ms);
      return {
        label,
        attestations: run.load.ok,
        failed: run.load.failed,
        serverCpuMsPerOp: run.serverCpuMsPerOp,
        databaseCpuMsPerOp: run.databaseCpuMsPerOp,
        totalCpuMsPerOp: run.serverCpuMsPerOp + (Number.isNaN(run.databaseCpuMsPerOp) ? 0 : run.databaseCpuMsPerOp),
        sqlStatementsPerOp: run.sqlStatementsPerOp,
      };
    },
    async close() {
      await server.stop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
