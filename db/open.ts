/**
 * Opening a store from configuration: a URL (`mysql://user:pass@host:port/db`,
 * with `?socket=PATH` for a Unix socket; `sqlite:PATH`, `sqlite::memory:`),
 * else IBM ACS's ACS_SQL_* variables (MySQL, default database tpm2; our
 * ACS_SQL_SOCKET beside them), else SQLite at ./acs.db.
 */
import { userInfo } from 'node:os';
import { MysqlDriver, type MysqlConfig } from './mysql-driver.js';
import { SqliteDriver } from './sqlite-driver.js';
import type { SqlDriver } from './driver.js';
import { SqlStore } from './sql-store.js';
import { StoreError, type Store } from './store.js';

export type StoreLocation = { dialect: 'mysql'; mysql: MysqlConfig } | { dialect: 'sqlite'; path: string };

export interface OpenOptions {
  /** Create the database (MySQL) or file (SQLite) when it does not exist. Default false. */
  create?: boolean;
  /** Apply pending migrations before returning. Default true. */
  migrate?: boolean;
}

const ACS_SQL_VARS = ['ACS_SQL_HOST', 'ACS_SQL_PORT', 'ACS_SQL_USERID', 'ACS_SQL_PASSWORD', 'ACS_SQL_DATABASE', 'ACS_SQL_SOCKET'] as const;
export const DEFAULT_SQLITE_PATH = './acs.db';
export const DEFAULT_MYSQL_DATABASE = 'tpm2';

function configError(message: string): StoreError {
  return new StoreError(message, 0x80000040);
}

function port(text: string | undefined): number {
  if (text === undefined || text === '') return 3306;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw configError(`invalid database port ${JSON.stringify(text)}`);
  return n;
}

/** A Unix socket path spares a co-located server's TCP stack on every statement. */
function socket(path: string | null | undefined): { socketPath?: string } {
  if (!path) return {};
  if (!path.startsWith('/')) throw configError(`database socket must be an absolute path, not ${JSON.stringify(path)}`);
  return { socketPath: path };
}

function defaultUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'root';
  }
}

/** Where the store lives, from a URL or the environment; throws StoreError 80000040 on a malformed URL. */
export function storeLocation(url?: string, env: NodeJS.ProcessEnv = process.env): StoreLocation {
  if (url !== undefined && url !== '') {
    if (url.startsWith('sqlite:')) {
      const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
      if (!path) throw configError('sqlite: URL has no path');
      return { dialect: 'sqlite', path };
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw configError(`unrecognized database URL`);
    }
    if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
      throw configError(`unsupported database URL scheme ${parsed.protocol}`);
    }
    return {
      dialect: 'mysql',
      mysql: {
        host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
        port: port(parsed.port),
        user: decodeURIComponent(parsed.username) || defaultUser(),
        password: decodeURIComponent(parsed.password),
        database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || DEFAULT_MYSQL_DATABASE,
        ...socket(parsed.searchParams.get('socket')),
      },
    };
  }
  if (ACS_SQL_VARS.some((v) => env[v] !== undefined)) {
    return {
      dialect: 'mysql',
      mysql: {
        host: env.ACS_SQL_HOST || 'localhost',
        port: port(env.ACS_SQL_PORT),
        user: env.ACS_SQL_USERID || defaultUser(),
        password: env.ACS_SQL_PASSWORD ?? '',
        database: env.ACS_SQL_DATABASE || DEFAULT_MYSQL_DATABASE,
        ...socket(env.ACS_SQL_SOCKET),
      },
    };
  }
  return { dialect: 'sqlite', path: DEFAULT_SQLITE_PATH };
}

/** The driver for a location, neither migrated nor checked: for callers that only run plain statements. */
export async function openDriver(location: StoreLocation, create: boolean): Promise<SqlDriver> {
  if (location.dialect === 'sqlite') return new SqliteDriver(location.path, { create });
  if (create) await MysqlDriver.createDatabase(location.mysql);
  return new MysqlDriver(location.mysql);
}

/** Opens the configured store, creating the database when asked and migrating unless told not to. */
export async function openStore(url?: string, env: NodeJS.ProcessEnv = process.env, opts: OpenOptions = {}): Promise<Store> {
  const driver = await openDriver(storeLocation(url, env), opts.create ?? false);
  try {
    if (opts.migrate ?? true) await driver.migrate();
    else await driver.all('SELECT 1');
  } catch (e) {
    await driver.close();
    throw e;
  }
  return new SqlStore(driver);
}
