/**
 * What an acs-server under test needs — a privacy CA, a trust-root
 * directory holding the benchmark EK CA (and the swtpm test CA for real
 * hosts), a MariaDB database — and an in-process server over them whose log
 * is captured. The same files serve acs-server CLI processes (server-cli.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { openStore } from '../../db/open.js';
import type { SqlDriver } from '../../db/driver.js';
import type { SqlStore } from '../../db/sql-store.js';
import { startServer, type RunningServer } from '../../server/app.js';
import { resolveServerConfig, type ServerConfig } from '../../server/config.js';
import { PrivacyCa } from '../../server/privacy-ca.js';
import { SoftwareEkCa } from '../../client/simulator/software-ek-ca.js';
import { freshMariaDb } from '../helpers/mariadb.js';
import { LogCapture } from './log-capture.js';
import { RealHost } from './real-host.js';
import { endpoint, type Endpoint } from './stepped-host.js';

export interface ServerFiles {
  dir: string;
  caDir: string;
  rootsDir: string;
  /** Issues the software machines' EK certificates; trusted through rootsDir. */
  ekCa: SoftwareEkCa;
  /** mysql:// URL of the database. */
  dbUrl: string;
}

export interface ServerFilesOptions {
  /** Further EK CA certificates (PEM) to trust, e.g. the swtpm test CA and intermediate. */
  trust?: string[];
  /** A database to use; default a fresh one on the local MariaDB, dropped afterwards. */
  dbUrl?: string;
}

export async function serverFiles(t: Test, opts: ServerFilesOptions = {}): Promise<ServerFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'acs-hardening-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const caDir = join(dir, 'ca');
  const rootsDir = join(dir, 'roots');
  const [ekCa] = await Promise.all([SoftwareEkCa.create(rootsDir), PrivacyCa.init(caDir)]);
  await Promise.all((opts.trust ?? []).map((pem, i) => writeFile(join(rootsDir, `extra-${i}.pem`), pem)));
  let dbUrl = opts.dbUrl;
  if (dbUrl === undefined) {
    const db = await freshMariaDb();
    t.teardown(db.drop);
    dbUrl = db.url;
  }
  return { dir, caDir, rootsDir, ekCa, dbUrl };
}

/** A real swtpm host and server files that trust its EK certificate's CA. */
export async function realHostAndFiles(t: Test, hostname: string): Promise<{ real: RealHost; files: ServerFiles }> {
  const real = await RealHost.start(t, hostname);
  return { real, files: await serverFiles(t, { trust: real.trust }) };
}

export interface InProcessServer {
  running: RunningServer;
  ep: Endpoint;
  log: LogCapture;
  store: SqlStore;
  /** Plain SQL on the server's database, for reading rows back. */
  driver: SqlDriver;
}

/** Options that differ from the defaults; the rest come from resolveServerConfig. */
export type InProcessOptions = Partial<ServerConfig> & {
  /** Share a store with other servers (the caller closes it); default a store of its own. */
  store?: SqlStore;
};

/** acs-server in this process on a free loopback port, logging into a LogCapture. */
export async function startInProcess(t: Test, files: ServerFiles, opts: InProcessOptions = {}): Promise<InProcessServer> {
  const store = opts.store ?? (await openStore(files.dbUrl, process.env, { create: true }));
  if (!opts.store) t.teardown(() => store.close());
  const log = new LogCapture();
  const { store: _shared, ...options } = opts;
  const running = await startServer({
    config: resolveServerConfig({ ...options, port: 0, host: '127.0.0.1', roots: [files.rootsDir], caDir: files.caDir }),
    store,
    noVendorRoots: true,
    logger: log.logger(opts.verbose ? 'debug' : 'info'),
  });
  t.teardown(() => running.close());
  return { running, ep: endpoint(running.port), log, store, driver: store.driver };
}
