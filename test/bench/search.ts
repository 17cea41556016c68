#!/usr/bin/env node
/**
 * `node dist/test/bench/search.js [--db URL]`: the fleet searches and compare
 * views over a large store — by default 2,000 machines with three boots of
 * 850 IMA entries each (5.1 million IMA rows, search-fleet.ts) — as p50/p95
 * of the web server's own time per request (`--runs` requests per route,
 * each with other digests, paths and machines) against the 300 ms target;
 * and incremental attestation CPU (server and database process) on the same
 * store without search storage, with a per-machine file inventory kept in
 * the attestation transaction instead (file-inventory.ts), and with the
 * search indexes, side by side.
 *
 * A fresh MariaDB database by default (kept with `--keep`, then measured
 * again as it is with `--db`); `--db sqlite:PATH` for SQLite. Seeding
 * writes the rows without the search indexes and builds them afterwards,
 * as an upgrade of an existing store would.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { authStore } from '../../db/auth-store.js';
import { openStore } from '../../db/open.js';
import { DEFAULT_SERVER_CONFIG } from '../../server/config.js';
import { startWebServer, type RequestInfo } from '../../web/server.js';
import { freshMariaDb } from '../helpers/mariadb.js';
import { addTestUser, logIn } from '../helpers/web-server.js';
import { percentiles, type Percentiles } from './load.js';
import { buildInventory, dropInventory } from './file-inventory.js';
import { attestBench, type AttestCpu } from './search-attest.js';
import {
  CORE_FILES, bootTimeOf, corePath, fileHash, firmwareMarkOf, hex, pcr0Of, poolPath, searchHost, seedSearchFleet,
} from './search-fleet.js';
import { createSearchIndexes, dropSearchIndexes, searchIndexesPresent } from './search-indexes.js';

const TARGET_MS = 300;

const argv = await yargs(hideBin(process.argv))
  .scriptName('node dist/test/bench/search.js')
  .usage('$0 [options]\n\nMeasures the fleet searches and compare views over a large seeded store.')
  .option('db', { type: 'string', describe: 'store URL (mysql://… or sqlite:PATH); default a fresh MariaDB database' })
  .option('keep', { type: 'boolean', default: false, describe: 'keep the fresh MariaDB database' })
  .option('machines', { type: 'number', default: 2000 })
  .option('boots', { type: 'number', default: 3 })
  .option('entries', { type: 'number', default: 850, describe: 'IMA entries per boot' })
  .option('runs', { type: 'number', default: 40, describe: 'measured requests per route' })
  .option('attest-seconds', { type: 'number', default: 15, describe: 'length of each incremental attestation run (0 skips them)' })
  .option('attest-hosts', { type: 'number', default: 8 })
  .option('inventory', { type: 'boolean', default: true, describe: 'also measure attestation keeping a per-machine file inventory instead' })
  .option('json', { type: 'string', describe: 'write every figure to this file' })
  .strict()
  .parse();

const size = { machines: argv.machines, boots: argv.boots, entriesPerBoot: argv.entries };
const fresh = argv.db ? null : await freshMariaDb();
const url = argv.db ?? `${fresh!.url}`;
const store = await openStore(url, process.env, { create: true });
const driver = store.driver;
const log = (s: string) => process.stderr.write(`${s}\n`);
const now = new Date(Date.UTC(2030, 0, 1));

// Seeding, resumable: machines already written are kept.
const have = Number((await driver.all("SELECT COUNT(*) AS n FROM machines WHERE hostname LIKE 'fleet-%'"))[0]!.n);
let seedS: number | null = null;
if (have < size.machines) {
  await dropSearchIndexes(driver);
  const started = performance.now();
  let last = 0;
  const rows = await seedSearchFleet(store, size, now, have, (done, written) => {
    if (performance.now() - last > 10_000 || done === size.machines) {
      last = performance.now();
      log(`seeding: ${done}/${size.machines} machines, ${written} IMA rows this run, ${Math.round((last - started) / 1000)} s`);
    }
  });
  seedS = (performance.now() - started) / 1000;
  log(`seeded ${rows} IMA rows in ${seedS.toFixed(0)} s (${Math.round(rows / seedS)} rows/s)`);
}
const counts = (await driver.all('SELECT (SELECT COUNT(*) FROM machines) AS machines, (SELECT COUNT(*) FROM imalog) AS ima, (SELECT COUNT(*) FROM bioslog) AS bios'))[0]!;
log(`store: ${counts.machines} machines, ${counts.ima} IMA rows, ${counts.bios} firmware rows (${store.dialect})`);

// Attestation CPU on this store without the search indexes, with a file inventory instead, and with the indexes.
const attest: AttestCpu[] = [];
let indexBuildMs: number | null = null;
let inventoryBuildMs: number | null = null;
if (argv['attest-seconds'] > 0) {
  const measure = async (label: string, fileInventory = false) => {
    const bench = await attestBench(url, { hosts: argv['attest-hosts'], newEvents: 10, ms: argv['attest-seconds'] * 1000, fileInventory });
    try {
      const a = await bench.measure(label);
      log(`attestation, ${label}: server ${a.serverCpuMsPerOp.toFixed(2)} ms, database ${a.databaseCpuMsPerOp.toFixed(2)} ms CPU per attestation (${a.attestations})`);
      return a;
    } finally {
      await bench.close();
    }
  };
  if (await searchIndexesPresent(driver)) attest.push(await measure('with search indexes'));
  await dropSearchIndexes(driver);
  attest.push(await measure('without search indexes'));
  if (argv.inventory) {
    log('building the file inventory');
    inventoryBuildMs = await buildInventory(driver);
    attest.push(await measure('file inventory instead', true));
    await dropInventory(driver);
  }
  log('building the search indexes');
  indexBuildMs = await createSearchIndexes(driver);
  attest.push(await measure('with search indexes'));
}
if (!(await searchIndexesPresent(driver))) indexBuildMs = await createSearchIndexes(driver);

// The searches and compare views, each run with other values.
const requests: RequestInfo[] = [];
const web = await startWebServer({ driver: store.driver, port: 0, host: DEFAULT_SERVER_CONFIG.webHost, staleAfterMs: DEFAULT_SERVER_CONFIG.staleAfterMs, onRequest: (info) => requests.push(info) });
// Measured as a logged-in reader sees them: each request pays its session lookup.
const reader = await addTestUser(store, `bench-${process.pid}`, 'viewer');
const cookie = await logIn(web.url, reader);
const q = encodeURIComponent;
const machine = (run: number) => (run * 7919) % size.machines;
/** A core file other than sshd that no later boot updated (coreVersion), so its first version is in every boot. */
const coreFile = (run: number) => {
  const n = 2 + ((run * 37) % (CORE_FILES - 2));
  return n % 50 === 1 ? n + 1 : n;
};
const boot = (b: number) => q(bootTimeOf(now, size, b));
const routes: { name: string; target: boolean; path: (run: number) => string }[] = [
  { name: 'hash (a core file: every machine, every boot)', target: true, path: (r) => `/api/search/ima?hash=${fileHash(corePath(coreFile(r)), 0)}` },
  { name: 'alg:hash (a core file)', target: true, path: (r) => `/api/search/ima?hash=sha256:${fileHash(corePath(coreFile(r)), 0)}` },
  { name: 'hash (a vendor file on a few machines)', target: true, path: (r) => `/api/search/ima?hash=${fileHash(poolPath((machine(r) * 7919) % 20_000), 0)}` },
  { name: 'hash (never measured)', target: true, path: (r) => `/api/search/ima?hash=${hex(`unknown ${r}`)}` },
  { name: 'hash + hostname', target: true, path: (r) => `/api/search/ima?hash=${fileHash(corePath(coreFile(r)), 0)}&hostname=${q(searchHost(machine(r)))}` },
  { name: 'path (a core file)', target: true, path: (r) => `/api/search/ima?path=${q(corePath(coreFile(r)))}` },
  { name: 'path (next page)', target: true, path: (r) => `/api/search/ima?path=${q(corePath(coreFile(r)))}&cursor=${q(cursorFor(r))}` },
  { name: 'path + notHash (sshd not the usual build)', target: true, path: (r) => `/api/search/ima?path=%2Fusr%2Fsbin%2Fsshd&notHash=${fileHash('/usr/sbin/sshd', r % 3)}` },
  { name: 'path + notHash (a core file)', target: true, path: (r) => `/api/search/ima?path=${q(corePath(coreFile(r)))}&notHash=${fileHash(corePath(coreFile(r)), 0)}` },
  { name: 'pathPrefix (one vendor directory)', target: false, path: (r) => `/api/search/ima?pathPrefix=${q(`/opt/vendor-${r % 97}/`)}` },
  { name: 'hash + since', target: true, path: (r) => `/api/search/ima?hash=${fileHash(corePath(coreFile(r)), 0)}&since=${q(bootTimeOf(now, size, size.boots - 1).replace(' ', 'T'))}Z` },
  { name: 'firmware PCR 0 value', target: false, path: (r) => `/api/search/firmware?bank=sha256&pcr=0&value=${pcr0Of(r % 3)}` },
  { name: 'firmware event digest', target: false, path: (r) => `/api/search/firmware?digest=${firmwareMarkOf(r % 3)}` },
  { name: 'file history (a core file)', target: false, path: (r) => `/api/files?hash=${fileHash(corePath(coreFile(r)), 0)}` },
  { name: 'search page (hash)', target: true, path: (r) => `/search?hash=${fileHash(corePath(coreFile(r)), 0)}` },
  { name: 'search page (path + notHash)', target: true, path: (r) => `/search?path=%2Fusr%2Fsbin%2Fsshd&notHash=${fileHash('/usr/sbin/sshd', r % 3)}` },
  { name: 'compare boots (first and last boot)', target: true, path: (r) => `/machines/${q(searchHost(machine(r)))}/compare?boot=${boot(0)}&with=${boot(size.boots - 1)}` },
  { name: 'compare boots (default: last two)', target: true, path: (r) => `/machines/${q(searchHost(machine(r)))}/compare` },
  { name: 'compare machines', target: true, path: (r) => `/compare?a=${q(searchHost(machine(r)))}&b=${q(searchHost(machine(r + 1)))}` },
];
const cursors = new Map<number, string>();
function cursorFor(run: number): string {
  return cursors.get(run) ?? '';
}
async function get(path: string): Promise<{ status: number; json: any }> {
  const res = await fetch(web.url + path, { headers: { cookie } });
  const text = await res.text();
  return { status: res.status, json: (res.headers.get('content-type') ?? '').startsWith('application/json') ? JSON.parse(text) : null };
}
// The second page of each path search starts where the first ended.
for (let r = 0; r < argv.runs; r++) cursors.set(r, (await get(`/api/search/ima?path=${q(corePath(coreFile(r)))}`)).json.next ?? '');

interface Figure extends Percentiles {
  name: string;
  target: boolean;
  errors: number;
  statements: number;
  matches: number | null;
}
const figures: Figure[] = [];
for (const route of routes) {
  await get(route.path(argv.runs));
  const times: number[] = [];
  let errors = 0;
  let matches: number | null = null;
  for (let r = 0; r < argv.runs; r++) {
    const res = await get(route.path(r));
    if (res.status !== 200) errors++;
    const m = res.json?.machines;
    if (r === 0) matches = typeof m === 'number' ? m : Array.isArray(m) ? m.length : null;
    times.push(requests.at(-1)!.ms);
  }
  figures.push({ name: route.name, target: route.target, errors, statements: requests.at(-1)!.statements, matches, ...percentiles(times) });
}

const loadavg = os.loadavg()[0]!;
const width = Math.max(...figures.map((f) => f.name.length));
console.log(`\n${store.dialect}: ${counts.machines} machines, ${counts.ima} IMA rows, ${counts.bios} firmware rows; load average ${loadavg.toFixed(1)} on ${os.cpus().length} CPUs`);
const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(0)} s`);
console.log(`seeding: ${seedS === null ? '- (store already seeded)' : `${seedS.toFixed(0)} s`}; search index build: ${seconds(indexBuildMs)}; file inventory build: ${seconds(inventoryBuildMs)}`);
console.log(`\nserver time per request (ms), ${argv.runs} requests per route after one warm-up; target p95 < ${TARGET_MS} ms where marked\n`);
console.log(`${'route'.padEnd(width)}  machines  stmts     p50     p95     max  target`);
for (const f of figures) {
  const verdict = f.errors ? `${f.errors} ERRORS` : !f.target ? '-' : f.p95 < TARGET_MS ? 'ok' : 'MISSED';
  console.log(`${f.name.padEnd(width)}  ${String(f.matches ?? '').padStart(8)}  ${String(f.statements).padStart(5)}  ${f.p50.toFixed(1).padStart(6)}  ${f.p95.toFixed(1).padStart(6)}  ${f.max.toFixed(1).padStart(6)}  ${verdict}`);
}
if (attest.length) {
  console.log(`\nincremental attestation (+10 IMA entries each, ${argv['attest-hosts']} hosts at once), CPU ms per attestation\n`);
  console.log(`${'store'.padEnd(24)}  attestations  server  database   total  statements`);
  for (const a of attest) {
    console.log(`${a.label.padEnd(24)}  ${String(a.attestations).padStart(12)}  ${a.serverCpuMsPerOp.toFixed(2).padStart(6)}  ${a.databaseCpuMsPerOp.toFixed(2).padStart(8)}  ${a.totalCpuMsPerOp.toFixed(2).padStart(6)}  ${a.sqlStatementsPerOp.toFixed(1).padStart(10)}`);
  }
  const without = attest.find((a) => a.label.startsWith('without'));
  const growth = (a: AttestCpu | undefined) => (a && without ? `${((a.totalCpuMsPerOp / without.totalCpuMsPerOp - 1) * 100).toFixed(1)} %` : '-');
  console.log(`growth over no search storage: search indexes ${growth(attest.filter((a) => a.label.startsWith('with ')).at(-1))} (target ≤ 10 %), file inventory ${growth(attest.find((a) => a.label.startsWith('file')))}`);
}
const missed = figures.filter((f) => f.errors || (f.target && f.p95 >= TARGET_MS));
console.log(`\n${figures.length} routes, ${missed.length} over the target or failing`);
if (argv.json) {
  await writeFile(argv.json, `${JSON.stringify({ dialect: store.dialect, counts, seedS, indexBuildMs, inventoryBuildMs, loadavg, figures, attest }, null, 2)}\n`);
}

await web.close();
await authStore(store.driver).removeUser(reader.name);
await store.close();
if (fresh && !argv.keep) await fresh.drop();
else if (fresh) console.log(`kept ${fresh.url}`);
process.exitCode = missed.length ? 1 : 0;
