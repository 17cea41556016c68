/**
 * Alerts end to end (real swtpm, MariaDB, TCP, a real HTTP receiver and a
 * UDP syslog receiver): the first accepted quote changes the machine from
 * never to trusted, a refused quote raises attestation.failed and a change to
 * failing, the next good quote one back to trusted; every webhook POST
 * carries a valid HMAC-SHA256 signature of its raw body. A refusal while the
 * receiver is down arrives once it is back.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import type { NonceResponse } from '../../shared/protocol/messages.js';
import { OutboxSql } from '../../db/alert-outbox.js';
import { startSwtpm } from '../helpers/swtpm.js';
import { startTestServer } from '../helpers/acs-server.js';
import { AlertReceiver, hmacMatches, type ReceivedAlert } from '../helpers/alert-receiver.js';
import { AttestedHost, IMA_KEY, imaWireEvents, refusalCode, scratchDir } from '../helpers/attested-host.js';
import { GrowingImaLog } from '../helpers/growing-ima-log.js';

const tpm = await startSwtpm({ t });
const receiver = await AlertReceiver.start(t);
const dir = await scratchDir(t);
const secret = randomBytes(32);
const secretFile = join(dir, 'secret');
await writeFile(secretFile, `${secret.toString('hex')}\n`);
const secretKey = Buffer.from(secret.toString('hex'));
const syslog = createSocket('udp4');
const syslogLines: string[] = [];
syslog.on('message', (m) => syslogLines.push(m.toString('utf8')));
await new Promise<void>((resolve) => syslog.bind(0, '127.0.0.1', () => resolve()));
t.teardown(() => syslog.close());

const server = await startTestServer(t, {
  trust: [tpm.caCertPem, tpm.intermediateCertPem],
  imaKeyFiles: [IMA_KEY],
  notifyWebhooks: [receiver.url],
  notifySecret: secretFile,
  notifySyslog: `udp:127.0.0.1:${syslog.address().port}`,
  publicUrl: 'https://acs.example',
  alertTiming: { pollMs: 100, baseDelayMs: 200, maxDelayMs: 1000 },
});
const host = await AttestedHost.enroll(t, tpm, server, 'alerts.test');
const growing = await GrowingImaLog.start(host, dir);
/** A quote whose IMA template data was altered: signed by the enrolled AK, refused 90000020. */
const tamperedQuote = async (): Promise<NonceResponse> => {
  const n = await host.nonce();
  const events = await imaWireEvents(host.imaLog, n.imaentry, growing.extended);
  events[0] = Buffer.from(events[0]!);
  events[0][events[0].length - 1]! ^= 1;
  const q = await host.quote(n.nonce, unmarshalPcrSelection(n.pcrselect));
  t.equal(await refusalCode(host.send(host.request(q, { ima: { from: n.imaentry, events } }))), '90000020', 'the tampered quote is refused');
  return n;
};
const reportOf = async (n: NonceResponse) => (await host.attestations()).find((a) => a.nonce === n.nonce.toString('hex'))!;
const stateChange = (from: string, to: string) => (r: ReceivedAlert) =>
  r.alert.type === 'machine.state_changed' && r.alert.details.old === from && r.alert.details.new === to;

t.test('the first accepted quote: never → trusted, signed', async (t) => {
  await host.attest();
  const last = await host.lastAttestation();
  const [r] = await receiver.waitFor(stateChange('never', 'trusted'));
  t.ok(hmacMatches(secretKey, r!.raw, r!.signature), 'X-ACS-Signature is the HMAC-SHA256 of the raw body');
  t.notOk(hmacMatches(Buffer.from('another secret'), r!.raw, r!.signature), 'and not under another key');
  t.match(r!.alert, {
    id: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    type: 'machine.state_changed',
    hostname: 'alerts.test',
    report: { id: last.id, url: `https://acs.example/reports/${last.id}` },
    summary: /never → trusted/,
  });
  t.ok(!Number.isNaN(Date.parse(r!.alert.time)) && r!.alert.time.endsWith('Z'), 'time is ISO 8601 UTC');
});

t.test('a refusal: attestation.failed and trusted → failing; the next good quote: failing → trusted', async (t) => {
  await growing.grow(3);
  const n = await tamperedQuote();
  const report = await reportOf(n);
  const [failed] = await receiver.waitFor((r) => r.alert.type === 'attestation.failed');
  t.ok(hmacMatches(secretKey, failed!.raw, failed!.signature), 'signed');
  t.match(failed!.alert, {
    hostname: 'alerts.test',
    report: { id: report.id },
    summary: /^alerts\.test: Refused: the IMA log does not reproduce PCR 10/,
    details: { errorCode: '90000020', diagnosis: { pcrs: [{ pcr: 10 }] } },
  }, 'the diagnosis summary and the suspect PCR');
  await receiver.waitFor(stateChange('trusted', 'failing'));
  await host.attest();
  await receiver.waitFor(stateChange('failing', 'trusted'));
  t.equal(receiver.ofType('attestation.failed').length, 1, 'one refusal, one alert');
  t.equal(new Set(receiver.received.map((r) => r.alert.id)).size, receiver.received.length, 'every alert once');
});

t.test('a refusal while the receiver is down arrives when it is back', async (t) => {
  await receiver.down();
  await growing.grow(2);
  const n = await tamperedQuote();
  const report = await reportOf(n);
  // Several seconds of a receiver that refuses connections: deliveries fail and back off.
  await sleep(3000);
  t.equal(receiver.ofType('attestation.failed').length, 1, 'nothing arrived while it was down');
  const outbox = await troubled();
  t.ok(outbox.some((row) => row.sink === `webhook:${receiver.url}` && row.attempts >= 2 && row.lastError !== null), 'the failed attempts are recorded');
  await receiver.up();
  const arrived = await receiver.waitFor((r) => r.alert.type === 'attestation.failed' && r.alert.report?.id === report.id);
  t.ok(hmacMatches(secretKey, arrived[0]!.raw, arrived[0]!.signature), 'signed');
  await receiver.waitFor(stateChange('trusted', 'failing'), 2);
});

t.test('forged quotes: one security.forged_quote alert for a burst, no report, no state change', async (t) => {
  const quotedReports = async () => (await host.attestations()).filter((a) => a.quoted !== null).length;
  const reports = await quotedReports();
  for (let i = 0; i < 5; i++) {
    const n = await host.nonce();
    const q = await host.quote(n.nonce, unmarshalPcrSelection(n.pcrselect));
    const signature = Buffer.from(q.signature);
    signature[signature.length - 1]! ^= 1;
    t.equal(await refusalCode(host.send(host.request({ ...q, signature }, { ima: { from: n.imaentry, events: [] } }))), '90000010', 'refused as not signed by the AK');
  }
  const [forged] = await receiver.waitFor((r) => r.alert.type === 'security.forged_quote');
  t.ok(hmacMatches(secretKey, forged!.raw, forged!.signature), 'signed');
  t.match(forged!.alert, { hostname: 'alerts.test', summary: /does not verify with the enrolled AK/ });
  t.notOk('report' in forged!.alert, 'it is no report of the host');
  t.equal(await quotedReports(), reports, 'no report was added');
  await host.attest();
  await receiver.waitFor((r) => r.alert.type === 'machine.state_changed' && r.alert.details.new === 'trusted', 3);
  t.ok(receiver.ofType('security.forged_quote').length <= 2, 'a burst is one alert (two if it straddled a minute)');
});

t.test('syslog got each alert as an RFC 5424 message', async (t) => {
  const ids = new Set(receiver.received.map((r) => r.alert.id));
  const deadline = Date.now() + 30_000;
  while (syslogLines.length < ids.size && Date.now() < deadline) await sleep(50);
  const rfc5424 = /^<(\d+)>1 (\S+) (\S+) acs-server (\d+) ([a-z._]+) - \uFEFF(\{.*\})$/s;
  for (const line of syslogLines) {
    const m = rfc5424.exec(line);
    t.ok(m, 'HEADER SP STRUCTURED-DATA SP BOM MSG');
    if (!m) continue;
    const body = JSON.parse(m[6]!) as ReceivedAlert['alert'];
    t.equal(m[5], body.type, 'MSGID is the alert type');
    t.equal(Number(m[1]) >> 3, 10, 'facility authpriv');
    t.equal(m[2], body.time);
  }
  t.same(new Set(syslogLines.map((l) => JSON.parse(l.slice(l.indexOf('\uFEFF') + 1)).id)), ids, 'the same alerts as the webhook');
});

function troubled() {
  return new OutboxSql(server.store.driver).troubled(50);
}
