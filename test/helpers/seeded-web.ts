/**
 * The web tests' common ground: the same seeded fleet behind the web
 * server, once per store backend, so every page and API answer is checked
 * against SQLite and MariaDB alike.
 */
import type { Test } from 'tap';
import type { SqlStore } from '../../db/sql-store.js';
import { BACKENDS, type Backend } from './store-fixtures.js';
import { seedFleet, type SeededFleet } from './web-seed.js';
import { startTestWeb, type TestWeb } from './web-server.js';

export interface SeededWeb {
  backend: Backend;
  store: SqlStore;
  fleet: SeededFleet;
  web: TestWeb;
}

/** Runs `body` as one subtest per backend, named for it, over a freshly seeded store and a web server on it. */
export function forEachSeededWeb(t: Test, body: (t: Test, seeded: SeededWeb) => Promise<void>): void {
  for (const backend of BACKENDS) {
    t.test(backend.name, async (t) => {
      const store = await backend.open(t);
      const fleet = await seedFleet(store);
      const web = await startTestWeb(t, store);
      await body(t, { backend, store, fleet, web });
    });
  }
}
