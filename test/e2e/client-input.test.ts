/**
 * Client input is never a server fault (DESIGN.md "Who may do what"): values
 * that pass a naive pattern but no store can keep — impossible boot times, a
 * lone UTF-16 surrogate — are refused at the protocol edge with a 9000xxxx
 * code, logged at warn level without a stack, and change no row. An enrolled
 * host asks, so a check that stopped working would reach the database and
 * answer 8000xxxx instead.
 */
import t from 'tap';
import { exchange } from '../../client/exchange.js';
import { startTestServer } from '../helpers/acs-server.js';
import { AttestedHost } from '../helpers/attested-host.js';
import { refusedWithoutChange } from '../helpers/machines-table.js';
import { startSwtpm } from '../helpers/swtpm.js';
import { LogCapture } from '../hardening/log-capture.js';

const swtpm = await startSwtpm({ t });
const log = new LogCapture();
const server = await startTestServer(t, { trust: [swtpm.caCertPem, swtpm.intermediateCertPem], logger: log.logger() });
const host = await AttestedHost.enroll(t, swtpm, server, 'edge.test');
const attestations = async () => server.store.driver.all('SELECT * FROM attestlog ORDER BY id');

const refusals: [string, Record<string, string>][] = [
  ['31 February', { boottime: '2026-02-31 00:00:00' }],
  ['29 February of a common year', { boottime: '2025-02-29 12:00:00' }],
  ['year 0000', { boottime: '0000-01-01 00:00:00' }],
  ['a year before MariaDB\'s DATETIME range', { boottime: '0999-12-31 23:59:59' }],
  ['second 60', { boottime: '2026-11-25 00:00:60' }],
  ['a lone surrogate in userid', { userid: 'root\ud800' }],
];

for (const [what, fault] of refusals) {
  t.test(`${what}: 90000107 at warn level, nothing changed`, async (t) => {
    const before = await attestations();
    const mark = log.requests().length;
    const request = { command: 'nonce', hostname: host.hostname, userid: 'tester', boottime: host.bootTime, ...fault };
    const err = await refusedWithoutChange(t, server.store, '90000107', () => exchange('127.0.0.1', server.port, request));
    t.match(err.message, Object.hasOwn(fault, 'boottime') ? /boottime/ : /userid/, 'the message names the member');
    t.strictSame(await attestations(), before, 'no attestation row');
    const line = await log.waitFor((l) => l.msg === 'request' && l.outcome === '90000107' && log.requests().indexOf(l) >= mark);
    t.equal(line.level, 40, 'logged at warn level');
    t.notOk(line.err, 'no stack trace');
  });
}

t.test('the host\'s real boot time is accepted, and no line was logged at error level', async (t) => {
  t.ok((await host.nonce()).nonce.length === 32, 'a nonce');
  t.same(log.lines.filter((l) => (l.level as number) >= 50), [], 'no error-level lines');
});
