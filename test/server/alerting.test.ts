/**
 * The pure parts of alerting: the body, its signature, the RFC 5424 line,
 * syslog targets, the retry schedule, and which alerts a report raises.
 */
import t from 'tap';
import { createHmac } from 'node:crypto';
import { alertBody, outboxRows, stableAlertId } from '../../server/alerts/alert.js';
import { retryDelay } from '../../server/alerts/delivery-worker.js';
import { reportAlerts, MAX_LISTED } from '../../server/alerts/report-alerts.js';
import { signBody, signatureMatches } from '../../server/alerts/signature.js';
import { alertSeverity, parseSyslogTarget, syslogMessage } from '../../server/alerts/syslog.js';
import { checkWebhookUrl } from '../../server/alerts/sinks.js';

const NOW = new Date('2026-12-04T08:00:00.123Z');
const report = { id: 7, url: 'https://acs.example/reports/7' };

t.test('body: the contract fields, a uuid id, stable ids for the same key', async (t) => {
  const b = alertBody({ type: 'attestation.failed', hostname: 'h', summary: 's', details: { x: 1 }, report }, NOW);
  t.same(Object.keys(b), ['id', 'type', 'time', 'hostname', 'report', 'summary', 'details']);
  t.match(b.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.equal(b.time, '2026-12-04T08:00:00.123Z');
  t.notOk('report' in alertBody({ type: 'machine.stale', hostname: 'h', summary: 's', details: {} }, NOW), 'report only when there is one');
  t.equal(stableAlertId('k'), stableAlertId('k'));
  t.not(stableAlertId('k'), stableAlertId('k2'));
  t.match(stableAlertId('k'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'version 5, RFC variant');
  const rows = outboxRows([{ type: 'machine.stale', hostname: 'h', summary: 's', details: {} }], ['log', 'webhook:http://x/'], NOW);
  t.equal(rows.length, 2);
  t.equal(rows[0]!.body, rows[1]!.body, 'one serialized body for every sink');
  t.equal(rows[0]!.alertId, JSON.parse(rows[0]!.body).id);
});

t.test('signature: HMAC-SHA256 of the raw body, hex, sha256= prefix', async (t) => {
  const secret = Buffer.from('s3cret');
  const body = '{"id":"x"}';
  t.equal(signBody(secret, body), `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  t.ok(signatureMatches(secret, body, signBody(secret, body)));
  t.notOk(signatureMatches(secret, `${body} `, signBody(secret, body)), 'another body');
  t.notOk(signatureMatches(Buffer.from('other'), body, signBody(secret, body)), 'another key');
  t.notOk(signatureMatches(secret, body, undefined));
  t.notOk(signatureMatches(secret, body, 'sha256=00'));
});

t.test('syslog: RFC 5424 line, severities, targets', async (t) => {
  const b = alertBody({ type: 'security.forged_quote', hostname: 'h', summary: 's', details: {} }, NOW);
  const line = syslogMessage(b, JSON.stringify(b), 'acs server\u00e9', '42');
  t.equal(line, `<82>1 2026-12-04T08:00:00.123Z acsserver acs-server 42 security.forged_quote - \uFEFF${JSON.stringify(b)}`, 'PRI 10*8+2, printable hostname');
  t.equal(alertSeverity({ type: 'machine.state_changed', details: { new: 'trusted' } }), 5);
  t.equal(alertSeverity({ type: 'machine.state_changed', details: { new: 'failing' } }), 4);
  t.same(parseSyslogTarget(undefined), { kind: 'unix', path: '/dev/log' });
  t.same(parseSyslogTarget(''), { kind: 'unix', path: '/dev/log' });
  t.same(parseSyslogTarget('udp:10.0.0.1:514'), { kind: 'udp', host: '10.0.0.1', port: 514 });
  t.same(parseSyslogTarget('udp:[::1]:5514'), { kind: 'udp', host: '::1', port: 5514 });
  t.throws(() => parseSyslogTarget('tcp:h:1'), RangeError);
  t.throws(() => parseSyslogTarget('udp:h:70000'), RangeError);
});

t.test('webhook URLs: http(s), no credentials', async (t) => {
  t.equal(checkWebhookUrl('https://hooks.example/acs').href, 'https://hooks.example/acs');
  t.throws(() => checkWebhookUrl('ftp://x/'), RangeError);
  t.throws(() => checkWebhookUrl('https://user:pw@x/'), /no credentials/);
  t.throws(() => checkWebhookUrl('not a url'), RangeError);
});

t.test('retry delays double up to the cap, the upper half random', async (t) => {
  const timing = { baseDelayMs: 1000, maxDelayMs: 60_000 };
  t.equal(retryDelay(1, timing, () => 0), 500);
  t.equal(retryDelay(1, timing, () => 1), 1000);
  t.equal(retryDelay(4, timing, () => 0), 4000);
  t.equal(retryDelay(4, timing, () => 1), 8000);
  t.equal(retryDelay(30, timing, () => 1), 60_000, 'capped');
  t.equal(retryDelay(30, timing, () => 0), 30_000);
});

t.test('which alerts a report raises', async (t) => {
  const base = { hostname: 'h', report };
  t.same(reportAlerts({ ...base, before: 'trusted', after: 'trusted' }), [], 'a good report of a trusted machine: none');
  const refused = reportAlerts({ ...base, before: 'trusted', after: 'failing', refusal: { code: '90000020', message: 'logs do not match' } });
  t.same(refused.map((a) => a.type), ['attestation.failed', 'machine.state_changed']);
  t.match(refused[1], { details: { old: 'trusted', new: 'failing' }, report });
  t.same(reportAlerts({ ...base, before: 'failing', after: 'failing', refusal: { code: '90000020', message: 'm' } }).map((a) => a.type), ['attestation.failed']);
  const pcr = reportAlerts({
    ...base, before: 'never', after: 'failing',
    pcrinvalid: { reference: 'reference values lab', pcrs: [{ bank: 'sha256', pcr: 4, expected: 'aa', found: 'bb' }] },
  });
  t.match(pcr[0], { type: 'machine.pcrinvalid', summary: /PCR 4 differ from the reference values lab/, details: { pcrs: [{ pcr: 4 }] } });
  const many = Array.from({ length: MAX_LISTED + 5 }, (_, i) => ({ entrynum: i, path: `/p${i}`, reason: 'not allowed by policy P' }));
  const v = reportAlerts({ ...base, before: 'trusted', after: 'failing', violations: { policy: 'P', entries: many } });
  t.match(v[0], { type: 'policy.violation', details: { policy: 'P', total: MAX_LISTED + 5 } });
  t.equal((v[0]!.details.entries as unknown[]).length, MAX_LISTED, 'lists are cut, the total kept');
  t.same(reportAlerts({ ...base, before: 'trusted', after: 'trusted', violations: { policy: 'P', entries: [] } }), [], 'no violation, no alert');
});
