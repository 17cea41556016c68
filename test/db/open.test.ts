/**
 * Opening stores from configuration, creating and migrating databases, and
 * surviving a database that drops its connections.
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MYSQL_DATABASE, openStore, storeLocation } from '../../db/open.js';
import { StoreError } from '../../db/store.js';
import { freshMariaDb, killConnections, serverSocket } from '../helpers/mariadb.js';
import { newMachine } from '../helpers/store-fixtures.js';

t.test('storeLocation reads URLs and the IBM ACS variables', async (t) => {
  t.same(storeLocation('mysql://acs:p%40ss@db.example:3307/attest', {}), {
    dialect: 'mysql', mysql: { nodes: [{ host: 'db.example', port: 3307 }], user: 'acs', password: 'p@ss', database: 'attest' },
  });
  t.same(storeLocation('mariadb://root@127.0.0.1/', {}), {
    dialect: 'mysql', mysql: { nodes: [{ host: '127.0.0.1', port: 3306 }], user: 'root', password: '', database: DEFAULT_MYSQL_DATABASE },
  });
  t.same(storeLocation('sqlite:/var/lib/acs/acs.db', {}), { dialect: 'sqlite', path: '/var/lib/acs/acs.db' });
  t.same(storeLocation('sqlite:relative.db', {}), { dialect: 'sqlite', path: 'relative.db' });
  t.same(storeLocation('sqlite::memory:', {}), { dialect: 'sqlite', path: ':memory:' });
  t.same(storeLocation(undefined, { ACS_SQL_HOST: 'sql.example', ACS_SQL_USERID: 'u', ACS_SQL_PASSWORD: 'pw' }), {
    dialect: 'mysql', mysql: { nodes: [{ host: 'sql.example', port: 3306 }], user: 'u', password: 'pw', database: 'tpm2' },
  });
  t.same(storeLocation(undefined, { ACS_SQL_DATABASE: 'other', ACS_SQL_PORT: '3310', ACS_SQL_USERID: 'u' }), {
    dialect: 'mysql', mysql: { nodes: [{ host: 'localhost', port: 3310 }], user: 'u', password: '', database: 'other' },
  });
  t.same(storeLocation(undefined, { PATH: '/usr/bin' }), { dialect: 'sqlite', path: './acs.db' }, 'no variables: SQLite');
  t.same(storeLocation('', { ACS_SQL_USERID: 'u' }).dialect, 'mysql', 'an empty URL defers to the environment');
  t.same(storeLocation('mysql://acs@localhost/attest?socket=%2Frun%2Fmysqld%2Fmysqld.sock', {}), {
    dialect: 'mysql', mysql: { nodes: [{ host: 'localhost', port: 3306 }], user: 'acs', password: '', database: 'attest', socketPath: '/run/mysqld/mysqld.sock' },
  });
  t.same(storeLocation(undefined, { ACS_SQL_SOCKET: '/var/run/mysql.sock', ACS_SQL_USERID: 'u' }), {
    dialect: 'mysql', mysql: { nodes: [{ host: 'localhost', port: 3306 }], user: 'u', password: '', database: 'tpm2', socketPath: '/var/run/mysql.sock' },
  }, 'ACS_SQL_SOCKET alone selects MySQL over the socket');
  t.same(storeLocation('mysql://acs:pw@db1.example:3307,db2.example,[fd00::3]:3309/attest', {}), {
    dialect: 'mysql', mysql: {
      nodes: [{ host: 'db1.example', port: 3307 }, { host: 'db2.example', port: 3306 }, { host: 'fd00::3', port: 3309 }],
      user: 'acs', password: 'pw', database: 'attest',
    },
  }, 'several servers, in order of preference');
  t.same(storeLocation('mysql://u@a:1,b:2/db?select=rr', {}), {
    dialect: 'mysql', mysql: { nodes: [{ host: 'a', port: 1 }, { host: 'b', port: 2 }], user: 'u', password: '', database: 'db', select: 'rr' },
  }, 'servers in turn');
  t.same(storeLocation(undefined, { ACS_SQL_HOST: 'a.example,b.example:3311', ACS_SQL_PORT: '3310', ACS_SQL_USERID: 'u' }), {
    dialect: 'mysql', mysql: { nodes: [{ host: 'a.example', port: 3310 }, { host: 'b.example', port: 3311 }], user: 'u', password: '', database: 'tpm2' },
  }, 'ACS_SQL_HOST as a list; ACS_SQL_PORT for servers without a port');
  for (const bad of ['postgres://x/y', 'not a url', 'sqlite:', 'mysql://h:99999/db', 'mysql://h/db?socket=relative.sock',
    'mysql://a,,b/db', 'mysql://a:1,b:x/db', 'mysql://a,b/db?socket=%2Frun%2Fmysqld.sock', 'mysql://a,b/db?select=fastest']) {
    t.throws(() => storeLocation(bad, {}), StoreError, bad);
  }
  t.throws(() => storeLocation(undefined, { ACS_SQL_PORT: 'abc' }), StoreError);
});

t.test('SQLite: created only when asked, migrations idempotent, data kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acs-open-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const url = `sqlite:${join(dir, 'acs.db')}`;
  const missing = await openStore(url).catch((e) => e);
  t.type(missing, StoreError);
  t.equal(missing.code, 0x80000040);
  t.notOk(existsSync(join(dir, 'acs.db')), 'not created unasked');

  const first = await openStore(url, {}, { create: true });
  await first.transaction((tx) => tx.insertMachine(newMachine('kept.example')));
  await first.close();
  const second = await openStore(url);
  t.equal((await second.getMachine('kept.example'))?.hostname, 'kept.example', 'reopening re-runs no migration');
  await second.close();
  const unmigrated = await openStore(url, {}, { migrate: false });
  t.ok(await unmigrated.getMachine('kept.example'));
  await unmigrated.close();
});

t.test('MariaDB: CREATE DATABASE when asked, concurrent opens migrate once', async (t) => {
  const fresh = await freshMariaDb();
  t.teardown(fresh.drop);
  await fresh.drop(); // start from a database that does not exist
  const missing = await openStore(fresh.url).catch((e) => e);
  t.type(missing, StoreError);
  t.equal(missing.code, 0x80000040, missing.message);

  const stores = await Promise.all([1, 2, 3].map(() => openStore(fresh.url, {}, { create: true })));
  t.teardown(() => Promise.all(stores.map((s) => s.close())));
  await stores[0]!.transaction((tx) => tx.insertMachine(newMachine('m.example')));
  t.equal((await stores[2]!.getMachine('m.example'))?.hostname, 'm.example', 'all three see one schema');
  const again = await openStore(fresh.url);
  t.ok(await again.getMachine('m.example'), 'migrating an up-to-date database changes nothing');
  await again.close();
});

t.test('MariaDB over its Unix socket', async (t) => {
  const fresh = await freshMariaDb();
  t.teardown(fresh.drop);
  const path = await serverSocket();
  const url = new URL(fresh.url);
  url.hostname = 'no-such-host.invalid';
  url.searchParams.set('socket', path);
  const store = await openStore(url.href);
  t.teardown(() => store.close());
  await store.transaction((tx) => tx.insertMachine(newMachine('socket.example')));
  t.equal((await store.getMachine('socket.example'))?.hostname, 'socket.example', `written and read through ${path}, the host name unused`);
  const missing = await openStore(`mysql://root@localhost/${fresh.database}?socket=/nonexistent/mysqld.sock`).catch((e) => e);
  t.type(missing, StoreError);
  t.equal(missing.code, 0x80000040, 'a socket that is not there: unreachable');
});

t.test('an unreachable server is StoreError 80000040', async (t) => {
  const err = await openStore('mysql://root@127.0.0.1:1/tpm2').catch((e) => e);
  t.type(err, StoreError);
  t.equal(err.code, 0x80000040);
  const viaEnv = await openStore(undefined, { ACS_SQL_HOST: '127.0.0.1', ACS_SQL_PORT: '1', ACS_SQL_USERID: 'root' }, { migrate: false }).catch((e) => e);
  t.equal(viaEnv.code, 0x80000040);
});

t.test('MariaDB: connections killed under the store are replaced, the process lives', async (t) => {
  const fresh = await freshMariaDb();
  t.teardown(fresh.drop);
  const store = await openStore(fresh.url);
  t.teardown(() => store.close());
  await store.transaction((tx) => tx.insertMachine(newMachine('survivor.example', { imaevents: 0 })));
  let uncaught: unknown;
  const onUncaught = (e: unknown) => (uncaught = e);
  process.on('uncaughtException', onUncaught);
  t.teardown(() => process.off('uncaughtException', onUncaught));

  // Idle pooled connections die.
  await Promise.all([store.getMachine('survivor.example'), store.getMachine('survivor.example')]);
  t.ok((await killConnections(fresh.database)) > 0, 'the pool had live connections');
  await new Promise((r) => setTimeout(r, 100));
  t.equal((await store.getMachine('survivor.example'))?.hostname, 'survivor.example', 'reads work again');

  // A transaction whose connection dies fails with a store error and changes nothing.
  const err = await store
    .transaction(async (tx) => {
      const m = (await tx.machineForUpdate('survivor.example'))!;
      await tx.updateMachine(m.id, { imaevents: 99 });
      await killConnections(fresh.database);
      await tx.updateMachine(m.id, { imaevents: 100 });
    })
    .catch((e) => e);
  t.type(err, StoreError);
  t.equal(err.code, 0x80000040, err.message);
  t.equal((await store.getMachine('survivor.example'))?.imaevents, 0, 'the broken transaction left nothing');
  await store.transaction(async (tx) => {
    const m = (await tx.machineForUpdate('survivor.example'))!;
    await tx.updateMachine(m.id, { imaevents: 1 });
  });
  t.equal((await store.getMachine('survivor.example'))?.imaevents, 1, 'transactions work again');
  t.equal(uncaught, undefined, 'no uncaught error');
});
