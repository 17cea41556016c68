/**
 * Failover between database servers listed in order of preference, on two
 * MariaDB servers of the test's own (independent, so the rows show which
 * server took each write): the first serves while it is up; a read or a
 * transaction caught by its death, by a killed connection before COMMIT or
 * by its refusing writes (read-only) runs once more on the next; when the
 * first is back it is preferred again; with none up the store answers
 * 80000040.
 */
import t from 'tap';
import mysql from 'mysql2/promise';
import { openDriver, storeLocation } from '../../db/open.js';
import { StoreError } from '../../db/store.js';
import { MariaDbInstance } from '../hardening/mariadb-instance.js';

const DB = 'acs_failover';
// One after the other: two mariadb-install-db runs at once have failed under load.
const a = await MariaDbInstance.create(t);
const b = await MariaDbInstance.create(t);

async function onEach(sql: string): Promise<void> {
  for (const node of [a, b]) {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: node.port, user: 'root', multipleStatements: true });
    await c.query(sql);
    await c.end();
  }
}

async function rows(node: MariaDbInstance): Promise<string[]> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: node.port, user: 'root', database: DB });
  const [r] = await c.query('SELECT v FROM t ORDER BY id');
  await c.end();
  return (r as { v: string }[]).map((x) => x.v);
}

await onEach(`CREATE DATABASE ${DB}; CREATE TABLE ${DB}.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB;
  CREATE USER writer@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT ALL ON ${DB}.* TO writer@'127.0.0.1';`);
const url = `mysql://writer:pw@127.0.0.1:${a.port},127.0.0.1:${b.port}/${DB}`;
const driver = await openDriver(storeLocation(url, {}), false);
t.teardown(() => driver.close());
const servedBy = async (): Promise<number> => Number((await driver.all('SELECT @@port AS p'))[0]!.p);

t.test('the first server serves; killed, the next takes over without an error; back, it is preferred again', async (t) => {
  t.equal(await servedBy(), a.port, 'first in the list');
  await driver.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', ['on a']));
  await a.stop('SIGKILL');
  t.equal(await servedBy(), b.port, 'a read after the kill is answered by the next server');
  await driver.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', ['on b']));
  await a.start();
  t.ok(await preferredAgain(), 'the first server serves again once it is back');
  t.same([await rows(a), await rows(b)], [['on a'], ['on b']], 'each write went to the server serving at the time');
});

t.test('a transaction whose connection dies before COMMIT runs again, once, on the next server', async (t) => {
  let runs = 0;
  await driver.transaction(async (tx) => {
    runs++;
    const [{ port, id }] = (await tx.all('SELECT @@port AS port, CONNECTION_ID() AS id')) as [{ port: number; id: number }];
    await tx.run('INSERT INTO t (v) VALUES (?)', [`attempt ${runs}`]);
    if (port === a.port) {
      const killer = await mysql.createConnection({ host: '127.0.0.1', port: a.port, user: 'root' });
      await killer.query('KILL CONNECTION ?', [id]);
      await killer.end();
    }
    await tx.run('INSERT INTO t (v) VALUES (?)', [`attempt ${runs} again`]);
  });
  t.equal(runs, 2, 'ran twice');
  t.same(await rows(a), ['on a'], 'nothing of the first attempt stayed on the first server');
  t.same((await rows(b)).slice(1), ['attempt 2', 'attempt 2 again'], 'the second attempt committed on the next server');
});

/** The first server is passed over for a moment after it failed; reads find it again (read-only or not). */
async function preferredAgain(): Promise<boolean> {
  for (let i = 0; i < 400; i++) {
    if ((await servedBy()) === a.port) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

t.test('a server that refuses writes (read-only) is passed over', async (t) => {
  t.ok(await preferredAgain());
  const root = await mysql.createConnection({ host: '127.0.0.1', port: a.port, user: 'root' });
  t.teardown(() => root.end());
  await root.query('SET GLOBAL read_only = 1');
  await driver.run('INSERT INTO t (v) VALUES (?)', ['autocommit']);
  t.ok(await preferredAgain(), 'reads are served by the read-only server');
  await driver.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', ['transaction']));
  await root.query('SET GLOBAL read_only = 0');
  t.same(await rows(a), ['on a'], 'the read-only server took no write');
  t.same((await rows(b)).slice(-2), ['autocommit', 'transaction'], 'both writes went to the next server');
});

t.test('no server up: StoreError 80000040', async (t) => {
  await Promise.all([a.stop('SIGKILL'), b.stop('SIGKILL')]);
  const err = await driver.transaction((tx) => tx.all('SELECT 1')).catch((e) => e);
  t.type(err, StoreError);
  t.equal(err.code, 0x80000040, err.message);
  const read = await driver.all('SELECT 1').catch((e) => e);
  t.equal(read.code, 0x80000040);
});
