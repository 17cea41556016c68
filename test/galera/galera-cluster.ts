/**
 * A MariaDB Galera cluster of the test's own on loopback, from Debian's
 * galera-4 and mariadb-server: each node a MariaDbInstance with its own data
 * directory, SQL port, group-communication (gcomm), IST and SST ports. Node 1
 * bootstraps the cluster (--wsrep-new-cluster); the others join it by state
 * transfer (rsync SST, or IST from the donor's gcache); a node counts as up
 * when wsrep_local_state_comment is Synced. Every node is killed and its
 * directory removed when the test ends, whatever happened; `stop()` shuts the
 * cluster down cleanly before that.
 *
 * innodb_force_primary_key and enforce_storage_engine=InnoDB make the nodes
 * refuse what Galera cannot replicate faithfully (tables without a primary
 * key, tables of other engines), so every test run on the cluster also checks
 * that the product never creates either (Galera Cluster documentation,
 * "Known Limitations").
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { freePort } from '../helpers/free-port.js';
import { MariaDbInstance, MariaDbStartError, type Teardown } from '../hardening/mariadb-instance.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const PROVIDERS = ['/usr/lib/galera/libgalera_smm.so', '/usr/lib/libgalera_smm.so', '/usr/lib64/galera-4/libgalera_smm.so'];
const SYNC_TIMEOUT_MS = 120_000;

/**
 * Group-communication timings for a loopback cluster: a killed node is
 * declared gone in about 2 s instead of Galera's default 5–15 s, during which
 * the others cannot commit (Galera documentation, "evs.*" provider options).
 */
const EVS_TIMINGS = 'evs.keepalive_period=PT0.3S;evs.inactive_check_period=PT0.5S;evs.suspect_timeout=PT1.5S;evs.inactive_timeout=PT3S;evs.install_timeout=PT3S';

export class GaleraNode {
  constructor(
    readonly index: number,
    readonly db: MariaDbInstance,
    readonly gcommPort: number,
    readonly istPort: number,
    readonly sstPort: number,
  ) {}

  get port(): number {
    return this.db.port;
  }

  get name(): string {
    return `node${this.index + 1}`;
  }

  /** mysql:// URL of `database` on this node alone. */
  url(database: string): string {
    return this.db.url(database);
  }

  connect(database?: string): Promise<mysql.Connection> {
    return mysql.createConnection({ host: HOST, port: this.port, user: 'root', database, connectTimeout: 2000 });
  }

  /** A wsrep status variable of this node. */
  async status(name: string): Promise<string> {
    const conn = await this.connect();
    try {
      const [rows] = await conn.query('SHOW STATUS LIKE ?', [name]);
      return String((rows as { Value: string }[])[0]?.Value ?? '');
    } finally {
      await conn.end();
    }
  }
}

function provider(): string {
  const found = PROVIDERS.find((p) => existsSync(p));
  if (!found) throw new MariaDbStartError(`Galera provider not found in ${PROVIDERS.join(', ')} (apt-get install galera-4)`);
  return found;
}

export class GaleraCluster {
  private constructor(readonly nodes: GaleraNode[]) {}

  /** Installs and starts `size` nodes, one after another, each Synced before the next joins. */
  static async start(t: Teardown, size = 3): Promise<GaleraCluster> {
    const lib = provider();
    const nodes: GaleraNode[] = [];
    // A cluster that fails to start usually ends the test file before its
    // teardowns run: remove what was made here first.
    const undo = (e: unknown) => Promise.all(nodes.map((n) => n.db.destroy())).then(() => Promise.reject(e));
    for (let i = 0; i < size; i++) {
      const db = await MariaDbInstance.create(t, { start: false }).catch(undo);
      nodes.push(new GaleraNode(i, db, await freePort(), await freePort(), await freePort()));
    }
    const cluster = new GaleraCluster(nodes);
    t.teardown(() => cluster.stop());
    const members = nodes.map((n) => `${HOST}:${n.gcommPort}`).join(',');
    const name = `acs-test-${randomBytes(4).toString('hex')}`;
    for (const n of nodes) {
      n.db.serverArgs = [
        '--wsrep-on=ON', `--wsrep-provider=${lib}`, `--wsrep-cluster-name=${name}`, `--wsrep-cluster-address=gcomm://${members}`,
        `--wsrep-node-name=${n.name}`, `--wsrep-node-address=${HOST}:${n.gcommPort}`, `--wsrep-sst-receive-address=${HOST}:${n.sstPort}`,
        `--wsrep-provider-options=gmcast.listen_addr=tcp://${HOST}:${n.gcommPort};ist.recv_addr=${HOST}:${n.istPort};gcache.size=64M;${EVS_TIMINGS}`,
        '--wsrep-sst-method=rsync', '--innodb-force-primary-key=ON', '--enforce-storage-engine=InnoDB',
        '--binlog-format=ROW', '--default-storage-engine=InnoDB', '--innodb-autoinc-lock-mode=2', '--wsrep-slave-threads=2',
      ];
    }
    for (const n of nodes) await cluster.startNode(n.index, n.index === 0).catch(undo);
    return cluster;
  }

  /** mysql:// URL listing the nodes in `order` (indexes; default 0, 1, 2 …): the driver prefers them in that order. */
  url(database: string, order: readonly number[] = this.nodes.map((n) => n.index)): string {
    return `mysql://root@${order.map((i) => `${HOST}:${this.nodes[i]!.port}`).join(',')}/${database}`;
  }

  /**
   * Starts a node (bootstrapping a new cluster when asked) and waits until it
   * is Synced. A node that ran before first recovers its last committed
   * position from InnoDB (mariadbd --wsrep-recover, as Debian's
   * galera_recovery does under systemd), so it rejoins by IST — only the
   * write sets it missed, from a donor's gcache — rather than a full SST.
   */
  async startNode(index: number, bootstrap = false): Promise<void> {
    const db = this.nodes[index]!.db;
    // The rsync SST receiver's daemon runs as another user and must replace
    // what mariadbd wrote; these directories are the test's alone.
    await run('chmod', ['-R', 'a+rwX', db.dir]);
    const args = db.serverArgs;
    const extra = bootstrap ? ['--wsrep-new-cluster'] : [];
    if (existsSync(join(db.dataDir, 'grastate.dat'))) {
      const recovered = /WSREP: Recovered position: (\S+)/.exec(await db.runOnce(['--wsrep-recover']))?.[1];
      if (recovered) extra.push(`--wsrep-start-position=${recovered}`);
    }
    db.serverArgs = [...args, ...extra];
    try {
      await db.start(SYNC_TIMEOUT_MS);
    } catch (e) {
      const donors = await Promise.all(this.nodes.filter((n) => n.index !== index).map(async (n) => `${n.name}: ${await n.db.errorLog(8, /ERROR|rsync/)}`));
      throw new MariaDbStartError(`${this.nodes[index]!.name} did not start: ${await db.errorLog(8, /ERROR/)}\n${donors.join('\n')}`);
    } finally {
      db.serverArgs = args;
    }
    await this.waitSynced(index);
  }

  /** Waits until the node reports wsrep_local_state_comment = Synced. */
  async waitSynced(index: number): Promise<void> {
    const node = this.nodes[index]!;
    const until = Date.now() + SYNC_TIMEOUT_MS;
    for (;;) {
      const state = await node.status('wsrep_local_state_comment').catch(() => '');
      if (state === 'Synced') return;
      if (Date.now() > until) throw new MariaDbStartError(`${node.name} not Synced (${state || 'not answering'}): ${await node.db.errorLog()}`);
      await sleep(100);
    }
  }

  /** kill -9 of one node's mariadbd. */
  kill(index: number): Promise<void> {
    return this.nodes[index]!.db.stop('SIGKILL');
  }

  /** Stops every node with SIGTERM, last started first, so each leaves the cluster in order. */
  async stop(): Promise<void> {
    for (const n of [...this.nodes].reverse()) await n.db.stop('SIGTERM');
  }
}
