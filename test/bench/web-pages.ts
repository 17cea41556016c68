#!/usr/bin/env node
/**
 * `node dist/test/bench/web-pages.js [--db URL]`: how long the web UI's server
 * takes for every page and API route over a large store — 1,000 machines,
 * 100,000 attestations, 1,000,000 IMA rows (web-fleet.ts) — against the
 * 200 ms target. SQLite in a temporary file by default; `--db
 * mysql://root@127.0.0.1/acs_web_bench` for MariaDB. A store that already
 * holds machines is measured as it is (seed once, measure again after a
 * schema change). Times are the server's own (request in to response
 * written, web/server.ts onRequest), median and max of `--runs` requests
 * after one warm-up.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { authStore } from '../../db/auth-store.js';
import { openStore } from '../../db/open.js';
import { startWebServer, type RequestInfo } from '../../web/server.js';
import { addTestUser, logIn } from '../helpers/web-server.js';
import { DEFAULT_SERVER_CONFIG } from '../../server/config.js';
import { hostnameOf, seedWebFleet } from './web-fleet.js';

const TARGET_MS = 200;

const argv = await yargs(hideBin(process.argv))
  .scriptName('node dist/test/bench/web-pages.js')
  .usage('$0 [options]\n\nMeasures every web page and API route over a large seeded store.')
  .option('db', { type: 'string', describe: 'store URL (mysql://… or sqlite:PATH); default a temporary SQLite file' })
  .option('machines', { type: 'number', default: 1000 })
  .option('attestations', { type: 'number', default: 100_000 })
  .option('ima', { type: 'number', default: 1_000_000, describe: 'IMA rows' })
  .option('runs', { type: 'number', default: 5, describe: 'measured requests per route' })
  .option('keep', { type: 'boolean', default: false, describe: 'keep the temporary SQLite file' })
  .strict()
  .parse();

const tmp = argv.db ? null : await mkdtemp(join(os.tmpdir(), 'acs-web-bench-'));
const url = argv.db ?? `sqlite:${join(tmp!, 'acs.db')}`;
const store = await openStore(url, process.env, { create: true });
const driver = store.driver;
const now = new Date();

const existing = Number((await driver.all('SELECT COUNT(*) AS n FROM machines'))[0]!.n);
if (existing === 0) {
  const started = performance.now();
  let last = 0;
  const fleet = await seedWebFleet(store, { machines: argv.machines, attestations: argv.attestations, imaEvents: argv.ima }, now, (done) => {
    if (performance.now() - last > 5000 || done === argv.machines) {
      last = performance.now();
      process.stderr.write(`seeding: ${done}/${argv.machines} machines, ${Math.round((last - started) / 1000)} s\n`);
    }
  });
  console.log(`seeded ${store.dialect}: ${argv.machines} machines, ${fleet.attestations} attestations, ${fleet.imaEvents} IMA rows, `
    + `${fleet.biosEvents} firmware rows in ${Math.round((performance.now() - started) / 1000)} s`);
} else {
  console.log(`measuring the ${existing} machines already in ${store.dialect}`);
}

const requests: RequestInfo[] = [];
const web = await startWebServer({ driver: store.driver, port: 0, host: DEFAULT_SERVER_CONFIG.webHost, staleAfterMs: DEFAULT_SERVER_CONFIG.staleAfterMs, onRequest: (info) => requests.push(info) });
// Measured as a logged-in reader sees them: each request pays its session lookup.
const reader = await addTestUser(store, `bench-${process.pid}`, 'viewer');
const cookie = await logIn(web.url, reader);

async function get(path: string): Promise<{ status: number; json: any }> {
  const res = await fetch(web.url + path, { headers: { Cookie: cookie } });
  const text = await res.text();
  return { status: res.status, json: (res.headers.get('content-type') ?? '').startsWith('application/json') ? JSON.parse(text) : null };
}

/** The ids, boots and cursors the routes below need, read from the store. */
async function routes(): Promise<string[]> {
  const busy = encodeURIComponent(hostnameOf(0));
  const typical = encodeURIComponent(hostnameOf(1));
  const busyDetail = (await get(`/api/machines/${busy}`)).json;
  const typicalDetail = (await get(`/api/machines/${typical}`)).json;
  const bigBoot = busyDetail.imaBoots[0];
  const machineId = Number((await driver.all('SELECT id FROM machines WHERE hostname = ?', [hostnameOf(0)]))[0]!.id);
  const deep = await driver.all('SELECT entrynum, id FROM imalog WHERE machine_id = ? AND boottime = ? AND entrynum = ? ORDER BY id LIMIT 1', [
    machineId, bigBoot.boottime, Math.max(0, bigBoot.lastEntry - 200),
  ]);
  const imaCursor = deep.length ? encodeURIComponent(`${deep[0]!.entrynum}.${deep[0]!.id}`) : '';
  const lastId = busyDetail.lastReport.id as number;
  const failedId = (await get('/api/reports?failed=true&limit=1')).json.items[0].id as number;
  const oldReport = busyDetail.recentReports.at(-1).id as number;
  const olderBoot = encodeURIComponent(typicalDetail.imaBoots.at(-1).boot);
  return [
    '/', '/machines', '/machines?sort=last&dir=desc', '/machines?state=failing', '/machines?q=bench-09',
    `/machines/${busy}`, `/machines/${typical}`, `/machines/${busy}/ek.pem`,
    `/machines/${busy}/bioslog`, `/machines/${busy}/bioslog?attestation=${oldReport}`, `/machines/${typical}/bioslog`,
    `/machines/${busy}/imalog`, `/machines/${busy}/imalog?cursor=${imaCursor}`, `/machines/${busy}/imalog?status=problem`,
    `/machines/${busy}/imalog?status=badsig`, `/machines/${busy}/imalog?status=ok&cursor=${imaCursor}`,
    `/machines/${busy}/imalog?path=trojan`, `/machines/${busy}/imalog?path=no-such-file`, `/machines/${typical}/imalog?boot=${olderBoot}`,
    '/reports', '/reports?outcome=failed', '/reports?outcome=pcrinvalid', '/reports?outcome=pcrschanged', '/reports?latestPerHost=true',
    `/reports?hostname=${typical}`, '/reports?cursor=1000', `/reports/${lastId}`, `/reports/${failedId}`, `/reports/${lastId}/quote.json`,
    '/api/machines', '/api/machines?state=trusted', `/api/machines/${busy}`,
    '/api/reports', '/api/reports?failed=true', '/api/reports?pcrinvalid=true', '/api/reports?latestPerHost=true', '/api/reports?limit=500',
    `/api/reports?hostname=${typical}&limit=500`, `/api/reports/${lastId}`, `/api/machines/${busy}/bioslog`,
    `/api/machines/${busy}/imalog`, `/api/machines/${busy}/imalog?limit=5000`, `/api/machines/${busy}/imalog?cursor=${imaCursor}`,
    `/api/machines/${busy}/imalog?status=nokey`, `/api/machines/${busy}/imalog?path=trojan`,
    '/static/style.css',
  ];
}

interface Figure {
  path: string;
  status: number;
  statements: number;
  median: number;
  max: number;
}

async function measure(path: string): Promise<Figure> {
  await get(path);
  const times: number[] = [];
  let status = 0;
  for (let i = 0; i < argv.runs; i++) {
    status = (await get(path)).status;
    times.push(requests.at(-1)!.ms);
  }
  times.sort((a, b) => a - b);
  return { path, status, statements: requests.at(-1)!.statements, median: times[Math.floor(times.length / 2)]!, max: times.at(-1)! };
}

const figures: Figure[] = [];
for (const path of await routes()) figures.push(await measure(path));

const width = Math.min(90, Math.max(...figures.map((f) => f.path.length)));
const cut = (p: string) => (p.length > width ? `${p.slice(0, width - 1)}…` : p.padEnd(width));
console.log(`\n${store.dialect}: server time per request, median and max of ${argv.runs} after one warm-up; target ${TARGET_MS} ms\n`);
console.log(`${'route'.padEnd(width)}  status  stmts  median ms   max ms  target`);
for (const f of figures) {
  const verdict = f.status !== 200 ? 'ERROR' : f.max <= TARGET_MS ? 'ok' : f.median <= TARGET_MS ? 'max over' : 'MISSED';
  console.log(`${cut(f.path)}  ${String(f.status).padStart(6)}  ${String(f.statements).padStart(5)}  ${f.median.toFixed(1).padStart(9)}  ${f.max.toFixed(1).padStart(7)}  ${verdict}`);
}
const missed = figures.filter((f) => f.status !== 200 || f.median > TARGET_MS);
console.log(`\n${figures.length} routes, ${missed.length} over the target (median) or failing`);

await web.close();
await authStore(store.driver).removeUser(reader.name);
await store.close();
if (tmp && !argv.keep) await rm(tmp, { recursive: true, force: true });
else if (tmp) console.log(`kept ${url}`);
process.exitCode = missed.length ? 1 : 0;
