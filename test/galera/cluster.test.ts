/**
 * The Galera harness and what the store relies on from the cluster: three
 * nodes Synced in one cluster; a row written through one node read from the
 * others; the statements Galera cannot replicate faithfully refused by the
 * nodes; GET_LOCK granted by each node on its own (so it cannot serialize
 * migrations); servers migrating at once through three different nodes
 * applying every migration exactly once, under the cluster-wide lock row;
 * and the store conformance suite, run through one node and again with each
 * connection taken from the next node in turn (writes spread over the
 * cluster, reads on other nodes than the writes before them).
 */
import t from 'tap';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { migrationsFolder } from '../../db/migrate.js';
import { openStore } from '../../db/open.js';
import { GaleraCluster } from './galera-cluster.js';

const cluster = await GaleraCluster.start(t);
const [n1, n2, n3] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];

t.test('three nodes, one cluster', async (t) => {
  for (const n of cluster.nodes) {
    t.equal(await n.status('wsrep_cluster_size'), '3', `${n.name} sees 3 members`);
    t.equal(await n.status('wsrep_local_state_comment'), 'Synced', `${n.name} Synced`);
  }
  const c = await n1.connect();
  t.teardown(() => c.end());
  await c.query('CREATE DATABASE harness');
  await c.query('CREATE TABLE harness.t (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB');
  await c.query("INSERT INTO harness.t VALUES (1, 'one')");
  for (const n of [n2, n3]) {
    const r = await n.connect();
    await r.query('SET SESSION wsrep_sync_wait = 1');
    const [rows] = await r.query('SELECT v FROM harness.t WHERE id = 1');
    t.same(rows, [{ v: 'one' }], `${n.name} reads the row written through node1`);
    await r.end();
  }
});

t.test('what Galera cannot replicate is refused', async (t) => {
  const c = await n1.connect('harness');
  t.teardown(() => c.end());
  const refused = (sql: string) => c.query(sql).then(() => 'accepted', (e: { code: string }) => e.code);
  t.not(await refused('CREATE TABLE nopk (v INT) ENGINE=InnoDB'), 'accepted', 'a table without a primary key');
  t.not(await refused('CREATE TABLE myisam (id INT PRIMARY KEY) ENGINE=MyISAM'), 'accepted', 'a MyISAM table');
});

t.test('GET_LOCK is local to a node', async (t) => {
  const [c1, c2] = await Promise.all([n1.connect(), n2.connect()]);
  t.teardown(() => Promise.all([c1.end(), c2.end()]));
  const [[r1], [r2]] = await Promise.all([c1.query("SELECT GET_LOCK('acs_probe', 0) AS got"), c2.query("SELECT GET_LOCK('acs_probe', 0) AS got")]);
  t.same([r1, r2], [[{ got: 1 }], [{ got: 1 }]], 'both nodes grant the same named lock at once: it serializes nothing across the cluster');
});

t.test('servers migrating at once through different nodes apply each migration once', async (t) => {
  const c = await n1.connect();
  await c.query('CREATE DATABASE acs_migrate');
  await c.end();
  const stores = await Promise.all([n1, n2, n3].map((n) => openStore(n.url('acs_migrate'))));
  t.teardown(() => Promise.all(stores.map((s) => s.close())));
  const expected = readdirSync(migrationsFolder('mysql')).filter((f) => f.endsWith('.sql')).length;
  for (const n of cluster.nodes) {
    const r = await n.connect('acs_migrate');
    await r.query('SET SESSION wsrep_sync_wait = 1');
    const [applied] = await r.query('SELECT COUNT(*) AS n FROM __drizzle_migrations');
    const [lock] = await r.query('SELECT COUNT(*) AS n FROM __acs_migration_lock');
    const [tables] = await r.query("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'acs_migrate' AND TABLE_NAME IN ('machines', 'attestlog', 'bioslog', 'imalog')");
    await r.end();
    t.same([applied, tables, lock], [[{ n: expected }], [{ n: 4 }], [{ n: 0 }]], `${n.name}: ${expected} migrations applied once, 4 tables, lock released`);
  }
});

const CONFORMANCE = fileURLToPath(new URL('../db/store-conformance.test.js', import.meta.url));

t.test('store conformance through one node', (t) => {
  t.spawn(process.execPath, [CONFORMANCE], { env: { ...process.env, ACS_TEST_MYSQL_URL: n2.url('') } }, 'store-conformance via node2');
  t.end();
});

t.test('store conformance with connections spread over the nodes', (t) => {
  t.spawn(process.execPath, [CONFORMANCE], { env: { ...process.env, ACS_TEST_MYSQL_URL: `${cluster.url('')}?select=rr` } }, 'store-conformance via all three in turn');
  t.end();
});
