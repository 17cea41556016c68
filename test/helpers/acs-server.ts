/**
 * A real acs-server for tests: in this process, on a free TCP port, with a
 * fresh privacy CA, a trust store holding the swtpm test CA, and a fresh
 * store (MariaDB database or SQLite file).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Test } from 'tap';
import { openStore } from '../../db/open.js';
import type { SqlStore } from '../../db/sql-store.js';
import { PrivacyCa } from '../../server/privacy-ca.js';
import { startServer, type RunningServer, type ServerOptions } from '../../server/app.js';
import { resolveServerConfig, type ServerConfig } from '../../server/config.js';
import { freshMariaDb } from './mariadb.js';

export interface TestServer extends RunningServer {
  store: SqlStore;
  address: string;
  caDir: string;
}

export interface TestServerOptions extends Partial<Omit<ServerConfig, 'db' | 'caDir' | 'port' | 'host'>> {
  now?: () => Date;
  noVendorRoots?: boolean;
  /** 'mariadb' (default) or 'sqlite'. */
  db?: 'mariadb' | 'sqlite';
  /** PEM certificates the server trusts as EK CAs (e.g. the swtpm test CA and intermediate). */
  trust?: string[];
  /** Where the server logs; default silent (ACS_TEST_LOG sets a level). */
  logger?: Logger;
  alertTiming?: ServerOptions['alertTiming'];
}

export async function startTestServer(t: Test, opts: TestServerOptions = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'acs-server-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const caDir = join(dir, 'ca');
  await PrivacyCa.init(caDir);
  const rootsDir = join(dir, 'roots');
  const roots = [...(opts.roots ?? [])];
  if (opts.trust?.length) {
    await import('node:fs/promises').then((fs) => fs.mkdir(rootsDir));
    await Promise.all(opts.trust.map((pem, i) => writeFile(join(rootsDir, `ca${i}.pem`), pem)));
    roots.push(rootsDir);
  }
  let url: string;
  if ((opts.db ?? 'mariadb') === 'mariadb') {
    const db = await freshMariaDb();
    t.teardown(db.drop);
    url = db.url;
  } else {
    url = `sqlite:${join(dir, 'acs.db')}`;
  }
  const store = await openStore(url, process.env, { create: true });
  const { db: _db, trust: _trust, now, noVendorRoots, logger, alertTiming, ...options } = opts;
  const server = await startServer({
    config: resolveServerConfig({ ...options, port: 0, host: '127.0.0.1', roots, caDir }),
    store,
    noVendorRoots,
    alertTiming,
    now,
    logger: logger ?? pino({ level: process.env.ACS_TEST_LOG ?? 'silent' }),
  });
  t.teardown(async () => {
    await server.close();
    await store.close();
  });
  return { ...server, store, address: `127.0.0.1:${server.port}`, caDir };
}
