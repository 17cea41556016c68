/**
 * `npm run bench -- --galera`: a 3-node MariaDB Galera cluster of the
 * benchmark's own on loopback (the test harness's), measured beside the
 * single server in the same run, with a failover: the server's --db lists
 * the three nodes, node 1 first, and node 1 is the one killed and restarted.
 */
import { GaleraCluster } from '../galera/galera-cluster.js';
import type { BenchDatabase } from './databases.js';

const DATABASE = 'acs_bench';

export async function galeraDatabase(): Promise<BenchDatabase> {
  const cleanups: (() => unknown)[] = [];
  const dispose = async (): Promise<void> => {
    for (const f of cleanups.splice(0)) await f();
  };
  try {
    const cluster = await GaleraCluster.start({ teardown: (f) => cleanups.push(f) });
    const conn = await cluster.nodes[0]!.connect();
    await conn.query(`CREATE DATABASE ${DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await conn.end();
    return {
      label: 'galera (3 nodes)',
      dialect: 'mysql',
      url: cluster.url(DATABASE),
      dispose,
      failover: { kill: () => cluster.kill(0), restart: () => cluster.startNode(0) },
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}
