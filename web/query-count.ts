/**
 * Counts the SQL statements each HTTP request issues. The web reads through a
 * driver wrapped here; a request runs inside measure(), and every statement
 * issued in its async context adds to its tally. Tests use the tally to show
 * that list pages cost a fixed number of statements, not one per row.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { SqlConnection, SqlDriver, SqlValue, TxConnection } from '../db/driver.js';

interface Tally {
  statements: number;
}

export class QueryCounter {
  private readonly scope = new AsyncLocalStorage<Tally>();

  /** A driver that behaves like `driver` and counts statements into the current request's tally. */
  wrap(driver: SqlDriver): SqlDriver {
    const tally = () => {
      const t = this.scope.getStore();
      if (t) t.statements += 1;
    };
    const counted = (conn: SqlConnection): SqlConnection => ({
      all: (sql: string, params?: readonly SqlValue[]) => (tally(), conn.all(sql, params)),
      run: (sql: string, params?: readonly SqlValue[]) => (tally(), conn.run(sql, params)),
    });
    return {
      ...counted(driver),
      dialect: driver.dialect,
      forUpdate: driver.forUpdate,
      insertIgnore: driver.insertIgnore,
      maxParams: driver.maxParams,
      transaction: (fn) => driver.transaction((conn) => fn({ ...counted(conn), defer: (sql, params) => (tally(), conn.defer(sql, params)) } satisfies TxConnection)),
      migrate: () => driver.migrate(),
      close: () => driver.close(),
    };
  }

  /** Runs fn with a fresh tally; resolves to fn's result and the statements it issued. */
  async measure<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
    const t: Tally = { statements: 0 };
    const result = await this.scope.run(t, fn);
    return { result, statements: t.statements };
  }
}
