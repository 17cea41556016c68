/**
 * The web UI's accounts: users with scrypt password hashes, login sessions
 * and API tokens (tables web_users, web_sessions, api_tokens). Secrets are
 * never stored, only their hashes; every change is one transaction and every
 * statement parameterized, in the SQL subset both dialects accept.
 */
import { formatTime, parseTime, type SqlConnection, type SqlDriver, type SqlRow } from './driver.js';

/** viewer reads everything; admin may also change state. */
export type Role = 'viewer' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'admin'];

export interface WebUser {
  id: number;
  name: string;
  role: Role;
  createdAt: Date;
  updatedAt: Date;
}

export interface WebUserWithHash extends WebUser {
  /** The encoded scrypt hash (web/auth/password.ts). */
  passwordHash: string;
}

/** A live session and the user it belongs to. */
export interface SessionUser {
  sessionId: number;
  userId: number;
  name: string;
  role: Role;
  expiresAt: Date;
}

export interface ApiToken {
  id: number;
  name: string;
  role: Role;
  createdAt: Date;
  /** Set once revoked; the row stays so the name keeps meaning one token in the logs. */
  revokedAt: Date | null;
}

function role(v: unknown): Role {
  return v === 'admin' ? 'admin' : 'viewer';
}

function user(r: SqlRow): WebUser {
  return { id: Number(r.id), name: String(r.name), role: role(r.role), createdAt: parseTime(r.created_at), updatedAt: parseTime(r.updated_at) };
}

function token(r: SqlRow): ApiToken {
  return {
    id: Number(r.id),
    name: String(r.name),
    role: role(r.role),
    createdAt: parseTime(r.created_at),
    revokedAt: r.revoked_at === null || r.revoked_at === undefined ? null : parseTime(r.revoked_at),
  };
}

const USER_COLUMNS = 'id, name, role, created_at, updated_at';
const TOKEN_COLUMNS = 'id, name, role, created_at, revoked_at';

export class AuthStore {
  constructor(private readonly sql: SqlDriver) {}

  async addUser(name: string, userRole: Role, passwordHash: string, now = new Date()): Promise<number> {
    const t = formatTime(now);
    return this.sql.transaction(async (c) => {
      const r = await c.run('INSERT INTO web_users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', [name, userRole, passwordHash, t, t]);
      return r.insertId;
    });
  }

  async users(): Promise<WebUser[]> {
    return (await this.sql.all(`SELECT ${USER_COLUMNS} FROM web_users ORDER BY name`)).map(user);
  }

  async userByName(name: string): Promise<WebUserWithHash | undefined> {
    const rows = await this.sql.all(`SELECT ${USER_COLUMNS}, password_hash FROM web_users WHERE name = ?`, [name]);
    return rows.length ? { ...user(rows[0]!), passwordHash: String(rows[0]!.password_hash) } : undefined;
  }

  /** Sets a new password and ends the user's sessions; false when there is no such user. */
  async setPassword(name: string, passwordHash: string, now = new Date()): Promise<boolean> {
    return this.sql.transaction(async (c) => {
      const id = await userId(c, name);
      if (id === undefined) return false;
      await c.run('UPDATE web_users SET password_hash = ?, updated_at = ? WHERE id = ?', [passwordHash, formatTime(now), id]);
      await c.run('DELETE FROM web_sessions WHERE user_id = ?', [id]);
      return true;
    });
  }

  /** Removes a user and their sessions; false when there is no such user. */
  async removeUser(name: string): Promise<boolean> {
    return this.sql.transaction(async (c) => {
      const id = await userId(c, name);
      if (id === undefined) return false;
      await c.run('DELETE FROM web_sessions WHERE user_id = ?', [id]);
      await c.run('DELETE FROM web_users WHERE id = ?', [id]);
      return true;
    });
  }

  /** Stores a new session and drops every expired one with it. */
  async createSession(userIdValue: number, tokenHash: string, expiresAt: Date, now = new Date()): Promise<void> {
    await this.sql.transaction(async (c) => {
      await c.run('DELETE FROM web_sessions WHERE expires_at <= ?', [formatTime(now)]);
      await c.run('INSERT INTO web_sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)', [
        tokenHash, userIdValue, formatTime(now), formatTime(expiresAt),
      ]);
    });
  }

  /** The unexpired session with this token hash, with its user. */
  async session(tokenHash: string, now = new Date()): Promise<SessionUser | undefined> {
    const rows = await this.sql.all(
      `SELECT s.id AS session_id, s.expires_at, u.id AS user_id, u.name, u.role
       FROM web_sessions s JOIN web_users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ?`,
      [tokenHash, formatTime(now)],
    );
    if (!rows.length) return undefined;
    const r = rows[0]!;
    return { sessionId: Number(r.session_id), userId: Number(r.user_id), name: String(r.name), role: role(r.role), expiresAt: parseTime(r.expires_at) };
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.sql.transaction((c) => c.run('DELETE FROM web_sessions WHERE token_hash = ?', [tokenHash]));
  }

  async createToken(name: string, tokenRole: Role, tokenHash: string, now = new Date()): Promise<number> {
    return this.sql.transaction(async (c) => {
      const r = await c.run('INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)', [name, tokenRole, tokenHash, formatTime(now)]);
      return r.insertId;
    });
  }

  /** The unrevoked token with this hash. */
  async activeToken(tokenHash: string): Promise<ApiToken | undefined> {
    const rows = await this.sql.all(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL`, [tokenHash]);
    return rows.length ? token(rows[0]!) : undefined;
  }

  async tokens(): Promise<ApiToken[]> {
    return (await this.sql.all(`SELECT ${TOKEN_COLUMNS} FROM api_tokens ORDER BY name`)).map(token);
  }

  /** Revokes the named token; false when there is no such unrevoked token. */
  async revokeToken(name: string, now = new Date()): Promise<boolean> {
    return this.sql.transaction(async (c) => {
      const r = await c.run('UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL', [formatTime(now), name]);
      return r.changes === 1;
    });
  }
}

async function userId(c: SqlConnection, name: string): Promise<number | undefined> {
  const rows = await c.all('SELECT id FROM web_users WHERE name = ?', [name]);
  return rows.length ? Number(rows[0]!.id) : undefined;
}

/** The accounts behind a store's driver. */
export function authStore(driver: SqlDriver): AuthStore {
  return new AuthStore(driver);
}
