/**
 * Opening a store from configuration: a URL (`mysql://user:pass@host:port/db`,
 * or several servers in order of preference, `mysql://user:pass@h1:p1,h2:p2/db`,
 * `?select=rr` to use them in turn instead;
 * `?socket=PATH` for a Unix socket; `sqlite:PATH`, `sqlite::memory:`), else
 * IBM ACS's ACS_SQL_* variables (MySQL, default database tpm2; ACS_SQL_HOST
 * may list several servers, `h1,h2:port`; our ACS_SQL_SOCKET beside them),
 * else SQLite at ./acs.db.
 */
import { userInfo } from 'node:os';
import { MysqlDriver, type MysqlConfig, type MysqlNode } from './mysql-driver.js';
import { SqliteDriver } from './sqlite-driver.js';
import type { SqlDriver } from './driver.js';
import { SqlStore } from './sql-store.js';
import { StoreError } from './store.js';

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

/**
 * A comma-separated server list: `host`, `host:port`, `[v6]:port`; a server
 * without a port gets `defaultPort`.
 */
function nodes(list: string, defaultPort: string | undefined): MysqlNode[] {
  return list.split(',').map((entry) => {
    const m = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::(.*))?$/.exec(entry.trim());
    const host = m?.[1] ?? m?.[2];
    if (!m || !host) throw configError(`invalid database server ${JSON.stringify(entry)}`);
    return { host, port: port(m[3] ?? defaultPort) };
  });
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
    // WHATWG URL parsing takes one host; the server list is cut out first and the rest parsed with a placeholder host.
    const m = /^(mysql|mariadb):\/\/(?:([^@/?#]*)@)?([^/?#]*)(.*)$/i.exec(url);
    if (!m) {
      const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
      throw configError(scheme ? `unsupported database URL scheme ${scheme}:` : 'unrecognized database URL');
    }
    const [, scheme, userinfo = '', hosts, rest] = m;
    let parsed: URL;
    try {
      parsed = new URL(`${scheme}://${userinfo}${userinfo ? '@' : ''}host${rest}`);
    } catch {
      throw configError('unrecognized database URL');
    }
    const servers = nodes(hosts || 'localhost', undefined);
    if (servers.length > 1 && parsed.searchParams.has('socket')) throw configError('a Unix socket names one server, not a list');
    const select = parsed.searchParams.get('select');
    if (select !== null && select !== 'order' && select !== 'rr') throw configError(`select must be order or rr, not ${JSON.stringify(select)}`);
    return {
      dialect: 'mysql',
      mysql: {
        nodes: servers,
        user: decodeURIComponent(parsed.username) || defaultUser(),
        password: decodeURIComponent(parsed.password),
        database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || DEFAULT_MYSQL_DATABASE,
        ...socket(parsed.searchParams.get('socket')),
        ...(select ? { select } : {}),
      },
    };
  }
  if (ACS_SQL_VARS.some((v) => env[v] !== undefined)) {
    return {
      dialect: 'mysql',
      mysql: {
        nodes: nodes(env.ACS_SQL_HOST || 'localhost', env.ACS_SQL_PORT),
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
export async function openStore(url?: string, env: NodeJS.ProcessEnv = process.env, opts: OpenOptions = {}): Promise<SqlStore> {
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
