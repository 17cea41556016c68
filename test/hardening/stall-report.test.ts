/**
 * The stall report: work that finishes in time passes through untouched;
 * work that does not fails with a StallError naming it, each server's last
 * log lines and the database's open transactions, read from the real
 * MariaDB server.
 */
import t from 'tap';
import { connectTo, freshMariaDb } from '../helpers/mariadb.js';
import { LogCapture } from './log-capture.js';
import { StallError, withinOrReport, type ReportedServer } from './stall-report.js';

const db = await freshMariaDb();
t.teardown(db.drop);
const log = new LogCapture();
log.push('{"msg":"request","hostname":"first.example"}\n{"msg":"request","hostname":"last.example"}\n');
const server: ReportedServer = { port: 4242, pid: 99999, log };

t.test('work done in time is its result', async (t) => {
  t.equal(await withinOrReport(5000, 'quick work', Promise.resolve(42), [server], db.url), 42);
  await t.rejects(withinOrReport(5000, 'failing work', Promise.reject(new Error('its own error')), [server], db.url), { message: 'its own error' });
});

t.test('work past its deadline: the servers and the open transactions', async (t) => {
  const holder = await connectTo(db.url);
  t.teardown(() => holder.end());
  await holder.query(`CREATE TABLE \`${db.database}\`.held (id INT PRIMARY KEY)`);
  await holder.query('START TRANSACTION');
  await holder.query(`INSERT INTO \`${db.database}\`.held VALUES (1)`);
  const [[{ id }]] = (await holder.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
  const started = Date.now();
  const err = await withinOrReport(200, 'stuck work', new Promise<never>(() => {}), [server], db.url).catch((e: unknown) => e);
  t.type(err, StallError);
  const message = (err as Error).message;
  t.ok(Date.now() - started >= 200, 'not before its deadline');
  t.match(message, /^stuck work did not finish within 200 ms\n/, 'names the work and the deadline');
  t.match(message, /server :4242 \(pid 99999\), last log lines:\n.*first\.example.*\n.*last\.example/, 'the server\'s last log lines');
  t.match(message, new RegExp(`open transactions: .*"trx_mysql_thread_id":${id}\\b`), 'the transaction held open elsewhere');
  await holder.query('ROLLBACK');
});
