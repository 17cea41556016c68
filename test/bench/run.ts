#!/usr/bin/env node
/**
 * `npm run bench`: the attestation server's performance, against a fleet of
 * software TPMs over real TCP on 127.0.0.1, with the floor (Node's own
 * crypto) measured in the same run. Prints a table; `--json FILE` writes
 * every figure. `--quick` fits in a minute on a 2-core machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { PrivacyCa } from '../../server/privacy-ca.js';
import type { Endpoint, BenchHost } from './bench-host.js';
import { benchDatabases, type BenchDatabase } from './databases.js';
import { failoverRun } from './failover.js';
import { galeraDatabase } from './galera-database.js';
import { SoftwareEkCa } from '../../client/simulator/software-ek-ca.js';
import { createFleet, runPrefix, type AkMode } from './fleet.js';
import { measureFloor, measureImaHashFloors } from './floor.js';
import { ImaSigner, SyntheticImaLog, type ImaLogProfile } from './ima-log.js';
import { measureParsers } from './parsers.js';
import { hotSpots, type HotSpot } from './profile.js';
import { measureSqlFloor, measureTcpFloor } from './io-floor.js';
import { buildSummary, formatReport, TARGETS, type BenchReport, type DatabaseResults } from './report.js';
import { enrollment, firstAttestation, fullAttestation, incremental, memoryRun } from './scenarios.js';
import { frameAttack } from './frame-attack.js';
import { DEFAULT_SERVER_CONFIG } from '../../server/config.js';
import { BenchServer } from './server-handle.js';
import { SoftwarePcrBanks } from '../../client/simulator/pcr-banks.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SCENARIOS = ['floor', 'parsers', 'enroll', 'full', 'incremental', 'memory', 'frame-attack'] as const;
type Scenario = (typeof SCENARIOS)[number];

const argv = await yargs(hideBin(process.argv))
  .scriptName('npm run bench --')
  .usage('$0 [options]\n\nBenchmarks acs-server with a fleet of software TPMs on 127.0.0.1.')
  .option('quick', { type: 'boolean', default: false, describe: 'under a minute: shorter runs, no 100k log, first database only' })
  .option('long', { type: 'boolean', default: false, describe: 'make the steady incremental run (RSS drift) long instead of seconds' })
  .option('long-seconds', { type: 'number', default: 600, describe: 'length of the --long run' })
  .option('json', { type: 'string', describe: 'write every figure to this file' })
  .option('db', { type: 'string', array: true, default: [] as string[], describe: 'mysql://… or sqlite:PATH, repeatable (default: ACS_SQL_*, else fresh MariaDB and a SQLite file)' })
  .option('hosts', { type: 'number', describe: 'software TPM hosts, at least the largest concurrency (default 256, quick 64)' })
  .option('concurrency', { type: 'number', array: true, describe: 'incremental concurrency levels (default 1 8 64 256, quick 1 8 64)' })
  .option('seconds', { type: 'number', describe: 'length of each incremental level (default 10, quick 1.5)' })
  .option('full-sizes', { type: 'number', array: true, describe: 'IMA log sizes for full attestation (default 1000 10000 100000; quick without 100000)' })
  .option('full-reps', { type: 'number', describe: 'full attestations per size (default 5, quick 2)' })
  .option('ak', { choices: ['mixed', 'ecc', 'rsa'] as const, default: 'mixed' as AkMode, describe: 'AK algorithm of the fleet (mixed: 1 host in 32 RSA)' })
  .option('only', { choices: SCENARIOS, array: true, describe: 'run only these scenarios (enrollment always runs before server scenarios)' })
  .option('galera', { type: 'boolean', default: false, describe: 'also measure a 3-node MariaDB Galera cluster started on loopback, and a failover (needs galera-4, rsync)' })
  .option('cpu-prof', { type: 'string', describe: 'write V8 CPU profiles of the server process to this directory and list hot spots' })
  .strict()
  .help()
  .parseAsync();

const quick = argv.quick;
const want = (s: Scenario): boolean => !argv.only || argv.only.includes(s);
const concurrency = argv.concurrency ?? (quick ? [1, 8, 64] : [1, 8, 64, 256]);
const config = {
  quick,
  long: argv.long,
  hosts: argv.hosts ?? Math.max(...concurrency, 8),
  concurrency,
  levelMs: (argv.seconds ?? (quick ? 1.5 : 10)) * 1000,
  fullSizes: argv['full-sizes'] ?? (quick ? [1000, 10_000] : [1000, 10_000, 100_000]),
  fullReps: argv['full-reps'] ?? (quick ? 2 : 5),
  newEvents: [0, 10],
  akMode: argv.ak,
  parserEvents: quick ? 5000 : 20_000,
  parserSignedEvents: quick ? 500 : 2000,
  microMs: quick ? 240 : 1500,
  memoryRun: argv.long
    ? { newEvents: 10, concurrency: 64, warmupMs: 10_000, durationMs: argv['long-seconds'] * 1000, sampleMs: 5000 }
    : { newEvents: 10, concurrency: Math.min(64, Math.max(...concurrency)), warmupMs: quick ? 1000 : 3000, durationMs: quick ? 4000 : 20_000, sampleMs: quick ? 250 : 1000 },
  fleetIma: { templateHashAlg: 'sha1', template: 'ima-ng', signEvery: 0 } as ImaLogProfile,
  bootImaFiles: 50,
  fullIma: { templateHashAlg: 'sha1', template: 'ima-sig', signEvery: 10 } as Omit<ImaLogProfile, 'signer'>,
  serverLimits: { maxConnections: 1024, maxFrameBytes: 64 * 2 ** 20 },
};
if (config.hosts < Math.max(...config.concurrency)) throw new RangeError('--hosts must be at least the largest --concurrency');

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

const startedAt = new Date();
const notes: string[] = [];
/** Wall seconds per phase of the run. */
const phases: Record<string, number> = {};

async function phase<T>(name: string, f: () => Promise<T> | T): Promise<T> {
  process.stderr.write(`${name}\n`);
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    phases[name] = Number(((performance.now() - t0) / 1000).toFixed(2));
  }
}
const loadStart = os.loadavg()[0];
if (quick && !argv.concurrency) notes.push('quick: 64 hosts, concurrency 1, 8 and 64 (256 needs the full run)');
if (loadStart > os.cpus().length) notes.push(`load average ${loadStart.toFixed(1)} on ${os.cpus().length} CPUs at start: other processes compete, figures are low`);
notes.push('server runs in a child process (RSS and CPU are its own); client and server share this machine\'s CPUs');
notes.push(`fleet: software TPMs, ${config.akMode === 'mixed' ? 'ECC P-256 AKs with 1 host in 32 RSA-2048' : `${config.akMode} AKs`}; IMA ${config.fleetIma.template} with SHA-1 template hashes`);
notes.push(`bench server limits: maxConnections ${config.serverLimits.maxConnections}, maxFrameBytes ${config.serverLimits.maxFrameBytes / 2 ** 20} MiB (a 100k-entry IMA log is ~30 MB of JSON)`);

/** A typical ima-ng template data, for the hash floor. */
function sampleTemplateData(): Buffer {
  const log = new SyntheticImaLog(config.fleetIma, new SoftwarePcrBanks(), 'sample');
  log.measureFiles(1);
  return log.held()[0].templateData;
}

interface Fleet {
  hosts: BenchHost[];
  fullHosts: BenchHost[];
  caDir: string;
  rootsDir: string;
  imaKeyFile: string;
}

async function runDatabase(db: BenchDatabase, fleet: Fleet, execArgv: string[]): Promise<DatabaseResults> {
  const res: DatabaseResults = { label: db.label, dialect: db.dialect, full: [], incremental: [] };
  let server: BenchServer | undefined;
  try {
    // Once, against the first database, in a server process of its own with the default limits.
    if (want('frame-attack') && databases.length === 0) {
      res.frameAttack = await phase(`[${db.label}] declared-but-unsent frames`, async () => {
        const d = DEFAULT_SERVER_CONFIG;
        const own = await BenchServer.start({
          db: db.url, caDir: fleet.caDir, roots: [fleet.rootsDir], imaKeyFiles: [], maxConnections: d.maxConnections, maxFrameBytes: d.maxFrameBytes,
        }, execArgv);
        try {
          return await frameAttack(own, { host: '127.0.0.1', port: own.port }, d.maxBufferedBytes);
        } finally {
          await own.stop();
        }
      });
    }
    server = await BenchServer.start({
      db: db.url,
      caDir: fleet.caDir,
      roots: [fleet.rootsDir],
      imaKeyFiles: [fleet.imaKeyFile],
      ...config.serverLimits,
    }, execArgv);
    const ep: Endpoint = { host: '127.0.0.1', port: server.port };
    res.databaseCpuMeasured = server.cpu.describe();
    notes.push(`[${db.label}] ${res.databaseCpuMeasured}`);
    res.sqlFloor = await phase(`[${db.label}] SQL floor`, () => measureSqlFloor(db.url, config.microMs, server!.cpu));
    for (const h of fleet.hosts) h.reboot(config.bootImaFiles);
    const all = [...fleet.hosts, ...fleet.fullHosts];
    const { enrolled, ...enrollRun } = await phase(`[${db.label}] enroll ${all.length} hosts`, () => enrollment(server!, ep, all, 8));
    res.enrollment = enrollRun;
    const missing = fleet.hosts.length + fleet.fullHosts.length - enrolled.length;
    if (missing > 0) throw new Error(`${missing} hosts could not enroll even one at a time`);
    if (want('incremental') || want('memory')) {
      res.firstAttestation = await phase(`[${db.label}] first attestations`, () => firstAttestation(server!, ep, fleet.hosts, 8));
    }
    // The steady run comes first and the full attestations last: their large frames would dominate RSS.
    if (want('memory')) {
      res.memory = await phase(`[${db.label}] steady run for RSS`, () => memoryRun(server!, ep, fleet.hosts, config.memoryRun));
    }
    if (want('incremental')) {
      for (const newEvents of config.newEvents) {
        await phase(`[${db.label}] warm-up +${newEvents} IMA`, () => incremental(server!, ep, fleet.hosts, newEvents, Math.min(8, fleet.hosts.length), config.levelMs / 3));
        for (const c of config.concurrency) {
          res.incremental.push(await phase(`[${db.label}] incremental +${newEvents} IMA, concurrency ${c}`,
            () => incremental(server!, ep, fleet.hosts, newEvents, c, config.levelMs)));
        }
      }
    }
    res.serverPeakRssBeforeFullBytes = (await server.memory()).maxRssBytes;
    if (want('full')) {
      for (const [i, size] of config.fullSizes.entries()) {
        const reps = size >= 100_000 ? Math.min(3, config.fullReps) : config.fullReps;
        res.full.push(await phase(`[${db.label}] full attestation, ${size} IMA entries`, () => fullAttestation(server!, ep, fleet.fullHosts[i], size, reps)));
      }
    }
    // Last: the restarted node is a new process, which the database CPU figures before it do not follow.
    if (db.failover) {
      const node = db.failover;
      res.failover = await phase(`[${db.label}] failover: preferred node killed, restarted`,
        () => failoverRun(ep, fleet.hosts, Math.min(8, fleet.hosts.length), node));
    }
    res.serverPeakRssBytes = (await server.memory()).maxRssBytes;
  } catch (e) {
    res.error = (e as Error).message;
  } finally {
    await server?.stop();
  }
  return res;
}

const tmp = await mkdtemp(join(os.tmpdir(), 'acs-bench-'));
const databases: DatabaseResults[] = [];
let floor: BenchReport['floor'];
let tcpFloor: BenchReport['tcpFloor'];
let parsers: BenchReport['parsers'];
let profile: HotSpot[] | undefined;
try {
  const signer = new ImaSigner();
  if (want('floor')) floor = await phase('floor', () => measureFloor(sampleTemplateData(), config.microMs));
  if (want('floor') || want('incremental')) tcpFloor = await phase('TCP floor', () => measureTcpFloor(config.microMs));
  if (want('parsers')) {
    parsers = await phase('event-log parsers', () => measureParsers(config.parserEvents, config.parserSignedEvents, signer, config.microMs));
    if (floor) {
      const again = measureImaHashFloors(sampleTemplateData(), config.microMs);
      for (const key of Object.keys(again) as (keyof typeof again)[]) floor[key] = Math.max(floor[key], again[key]);
    }
  }
  if (want('enroll') || want('full') || want('incremental') || want('memory') || want('frame-attack')) {
    const rootsDir = join(tmp, 'roots');
    const ca = await SoftwareEkCa.create(rootsDir);
    const caDir = join(tmp, 'privacy-ca');
    await PrivacyCa.init(caDir);
    const imaKeyFile = join(tmp, 'ima-key.pem');
    await writeFile(imaKeyFile, signer.publicPem());
    const prefix = runPrefix();
    const fleet: Fleet = await phase(`software TPMs for ${config.hosts + config.fullSizes.length} hosts`, () => ({
      hosts: createFleet({ ca, count: config.hosts, prefix, akMode: config.akMode, rsaEvery: 32, ima: config.fleetIma, bootImaFiles: config.bootImaFiles }),
      fullHosts: createFleet({ ca, count: config.fullSizes.length, prefix: `${prefix}-full`, akMode: config.akMode, rsaEvery: 32, ima: { ...config.fullIma, signer }, bootImaFiles: 0 }),
      caDir,
      rootsDir,
      imaKeyFile,
    }));
    let dbs = await benchDatabases(argv.db, process.env, notes);
    if (quick && dbs.length > 1) {
      notes.push(`quick: server scenarios on ${dbs[0].label} only (also available: ${dbs.slice(1).map((d) => d.label).join(', ')})`);
      for (const d of dbs.slice(1)) await d.dispose();
      dbs = dbs.slice(0, 1);
    }
    if (argv.galera) {
      try {
        dbs.push(await phase('Galera cluster: 3 nodes on loopback', () => galeraDatabase()));
      } catch (e) {
        notes.push(`Galera cluster not started: ${(e as Error).message.slice(0, 300)}`);
      }
    }
    const profDir = argv['cpu-prof'];
    const execArgv = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    for (const db of dbs) {
      try {
        databases.push(await runDatabase(db, fleet, execArgv));
      } finally {
        await db.dispose();
      }
    }
    if (profDir) profile = await hotSpots(profDir);
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}

const finishedAt = new Date();
const report: BenchReport & { serverHotSpots?: HotSpot[] } = {
  schema: 'acs-bench/1',
  startedAt: startedAt.toISOString(),
  finishedAt: finishedAt.toISOString(),
  durationS: (finishedAt.getTime() - startedAt.getTime()) / 1000,
  commit: git(['rev-parse', 'HEAD']) || 'unknown',
  dirtyTree: git(['status', '--porcelain']).length > 0,
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadavgStart: Number(loadStart.toFixed(2)),
    loadavgEnd: Number(os.loadavg()[0].toFixed(2)),
  },
  options: config,
  phasesS: phases,
  targets: TARGETS,
  notes,
  floor,
  tcpFloor,
  parsers,
  databases,
  summary: buildSummary({ floor, tcpFloor, parsers, databases, cores: os.cpus().length }, 10),
  ...(profile ? { serverHotSpots: profile } : {}),
};

process.stdout.write(`${formatReport(report)}\n`);
if (profile) {
  process.stdout.write('\nServer hot spots (self time)\n');
  for (const h of profile.slice(0, 15)) process.stdout.write(`  ${h.selfPct.toFixed(1).padStart(5)}%  ${h.function}  ${h.location}\n`);
}
if (argv.json) {
  await writeFile(argv.json, `${JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  process.stdout.write(`\nwrote ${argv.json}\n`);
}
