/**
 * Three acs-server processes on a 3-node Galera cluster, each preferring a
 * different node (--db lists all three, its own first), started together so
 * they migrate through three nodes at once. Under closed-loop load with
 * nonces taken from one server and quotes sent to the next, node 1 is killed
 * with SIGKILL, the load goes on, and the node is started again and rejoins
 * by state transfer. Afterwards: every attestation a client was told was
 * accepted is stored accepted on every node; the rows audit clean on every
 * node (no IMA entry stored twice or lost); the rejoined node holds the same
 * rows as the others, row for row; and a client saw nothing but transient
 * 8000004x/90000103 answers, each cleared by its next attempt. Then one quote
 * sent to all three servers at once: exactly one is accepted, the others are
 * refused as a used nonce, and the IMA rows are stored once.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import type { SqlDriver } from '../../db/driver.js';
import { openDriver, storeLocation } from '../../db/open.js';
import { LoadLoop, type Attempt } from '../hardening/load-loop.js';
import { refusal, tally } from '../hardening/outcome.js';
import { attestationByNonce, auditRows } from '../hardening/row-audit.js';
import { ServerCli, serveArgs } from '../hardening/server-cli.js';
import { serverFiles } from '../hardening/server-setup.js';
import { SteppedHost, steppedFleet } from '../hardening/stepped-host.js';
import { GaleraCluster } from './galera-cluster.js';

const DB = 'acs_galera';
const MACHINES = 12;
const ACCEPTED_PER_PHASE = 40;
const SAME_QUOTE_ROUNDS = 6;
const KILLED = 0;
/** What a client may see while a node fails: database unavailable or busy, answered, and cleared by attesting again. */
const TRANSIENT = new Set(['80000040', '80000041', '80000042', '90000103']);
const TABLES = ['machines', 'attestlog', 'bioslog', 'imalog'];

const cluster = await GaleraCluster.start(t);
const setup = await cluster.nodes[0]!.connect();
await setup.query(`CREATE DATABASE ${DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
await setup.end();
const files = await serverFiles(t, { dbUrl: cluster.url(DB) });
const orders = [[0, 1, 2], [1, 2, 0], [2, 0, 1]];
const servers = await Promise.all(orders.map((order) =>
  ServerCli.start(t, serveArgs({ ...files, dbUrl: cluster.url(DB, order) }, 0, ['--max-connections', '256']), 60_000)));
const eps = servers.map((s) => s.ep);

/** One driver per node, each reading that node alone. */
async function nodeDrivers(): Promise<SqlDriver[]> {
  return Promise.all(cluster.nodes.map((n) => openDriver(storeLocation(n.url(DB), {}), false)));
}

/** A digest of every row of every table, in id order, as one node holds them. */
async function tableDigests(driver: SqlDriver): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of TABLES) {
    const rows = await driver.all(`SELECT * FROM \`${table}\` ORDER BY id`);
    out[table] = `${rows.length} rows ${createHash('sha256').update(JSON.stringify(rows)).digest('hex').slice(0, 16)}`;
  }
  return out;
}

t.test('a node killed under load, load goes on, the node rejoins', async (t) => {
  const fleet = steppedFleet(files.ekCa, 'galera', MACHINES);
  const enrolled = await Promise.all(fleet.map((h, i) => refusal(h.enroll(eps[i % eps.length]!))));
  t.same(tally(enrolled), { ok: MACHINES }, `${MACHINES} machines enrolled through three servers on three nodes`);
  const index = new Map(fleet.map((h, i) => [h, i]));
  const load = new LoadLoop(fleet, (h, round) => {
    const k = index.get(h)! + round;
    return { nonce: eps[k % eps.length]!, quote: eps[(k + 1) % eps.length]! };
  });
  try {
    await load.acceptedMore(ACCEPTED_PER_PHASE);
    await cluster.kill(KILLED);
    await load.acceptedMore(ACCEPTED_PER_PHASE);
    await cluster.startNode(KILLED);
    t.pass(`${cluster.nodes[KILLED]!.name} killed mid-load, started again, Synced`);
    await load.acceptedMore(ACCEPTED_PER_PHASE);
  } finally {
    await load.stop();
  }
  const attempts = load.attempts;

  const counts = tally(attempts.map((a) => a.outcome));
  t.same(Object.keys(counts).filter((k) => k !== 'ok' && !TRANSIENT.has(k)), [], `only transient refusals: ${JSON.stringify(counts)}`);
  const lastOf = new Map<string, Attempt>();
  for (const a of attempts) lastOf.set(a.hostname, a);
  const uncleared = attempts.filter((a) => a.outcome !== null && lastOf.get(a.hostname) === a);
  t.same(uncleared.map((a) => `${a.hostname} ${a.outcome}`), [], 'every refused attempt was followed by one that was accepted');

  const drivers = await nodeDrivers();
  t.teardown(() => Promise.all(drivers.map((d) => d.close())));
  const accepted = attempts.filter((a) => a.outcome === null);
  const digests: Record<string, string>[] = [];
  for (const [i, d] of drivers.entries()) {
    const name = cluster.nodes[i]!.name;
    const rows = await Promise.all(accepted.map((a) => attestationByNonce(d, a.nonceHex!)));
    t.equal(rows.filter((r) => r?.quoted && r.errorCode === null).length, accepted.length, `${name}: all ${accepted.length} accepted attestations stored accepted`);
    const audit = await auditRows(d);
    t.same(audit.problems, [], `${name}: ${audit.accepted} accepted, ${audit.refused} refused, ${audit.pending} pending rows audit clean`);
    const machines = new Map(audit.machines.map((m) => [m.hostname, m]));
    t.same(fleet.filter((h) => machines.get(h.hostname)?.imapcr !== h.pcr10After[machines.get(h.hostname)?.imaevents ?? -1]).map((h) => h.hostname), [],
      `${name}: each machine's imaevents and PCR 10 are its own log replayed`);
    digests.push(await tableDigests(d));
  }
  t.same(digests[KILLED], digests[(KILLED + 1) % 3], `the rejoined node holds the same rows as the others: ${JSON.stringify(digests[KILLED])}`);
  t.same(digests[(KILLED + 1) % 3], digests[(KILLED + 2) % 3], 'the other two agree too');
});

t.test('one quote sent through three nodes at once: exactly one wins', async (t) => {
  const host = new SteppedHost('contended.galera.test', files.ekCa, 3);
  await host.enroll(eps[0]!);
  await host.attest(eps[1]!);
  const rounds: string[] = [];
  for (let i = 0; i < SAME_QUOTE_ROUNDS; i++) {
    host.measureFiles(2);
    const issued = await host.nonce(eps[i % eps.length]!);
    const req = host.request(host.quote(issued));
    const outcomes = await Promise.all(eps.map((ep) => refusal(host.send(ep, req))));
    rounds.push(JSON.stringify(tally(outcomes)));
    t.same(tally(outcomes), { ok: 1, '9000001c': 2 }, `round ${i + 1}: one accepted, the others refused as a used nonce`);
  }
  const drivers = await nodeDrivers();
  t.teardown(() => Promise.all(drivers.map((d) => d.close())));
  for (const [i, d] of drivers.entries()) {
    const entries = await d.all('SELECT entrynum FROM imalog WHERE hostname = ? ORDER BY entrynum', [host.hostname]);
    t.same(entries.map((r) => Number(r.entrynum)), Array.from({ length: host.ima.length }, (_, k) => k), `${cluster.nodes[i]!.name}: each IMA entry stored once`);
    const m = await d.all('SELECT imaevents FROM machines WHERE hostname = ?', [host.hostname]);
    t.equal(Number(m[0]!.imaevents), host.ima.length, `${cluster.nodes[i]!.name}: the machine holds the newest state`);
  }
});
