/**
 * Hostnames over TCP against a real server (swtpm, MariaDB): a name that is
 * no DNS host name is refused 90000109 by every command, logged at warn,
 * with nothing changed and no certificate issued; names differing only by
 * case or a trailing dot are one machine, stored, certified and attested
 * under its normal form; acs-client refuses a bad name itself and prints it
 * escaped.
 */
import { X509Certificate } from 'node:crypto';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { subjectCommonName } from '../../shared/crypto/certificate-info.js';
import { type JsonObject } from '../../shared/protocol/frame.js';
import { exchange } from '../../client/exchange.js';
import { parseResponse, serializeRequest } from '../../shared/protocol/messages.js';
import { startTestServer } from '../helpers/acs-server.js';
import { refusedWithoutChange } from '../helpers/machines-table.js';
import { enrollingTpm } from '../helpers/enrolling-tpm.js';
import { startSwtpm } from '../helpers/swtpm.js';
import { LogCapture } from '../hardening/log-capture.js';

const CLIENT = fileURLToPath(new URL('../../client/cli.js', import.meta.url));

const swtpm = await startSwtpm({ t });
const log = new LogCapture();
const server = await startTestServer(t, { trust: [swtpm.caCertPem, swtpm.intermediateCertPem], logger: log.logger() });
const { tpm, tpmvendor, ek, blobs } = await enrollingTpm(t, swtpm);

const send = (req: JsonObject) => exchange('127.0.0.1', server.port, req);
const enrollrequest = (hostname: string) => serializeRequest({ command: 'enrollrequest', hostname, tpmvendor, ekcert: ek.der, akpub: blobs.publicBytes });
const nonce = (hostname: string) => ({ command: 'nonce', hostname, userid: 'tester', boottime: '2026-11-25 10:00:00' });

t.test('one machine under any case and with or without one trailing dot', async (t) => {
  const answer = parseResponse('enrollrequest', await send(enrollrequest('HostA.Example.')));
  const challenge = await tpm.activateCredential(ek, blobs, answer.credentialblob, answer.secret);
  const { akcert } = parseResponse('enrollcert', await send(serializeRequest({ command: 'enrollcert', hostname: 'HOSTA.EXAMPLE', challenge })));
  t.equal(subjectCommonName(new X509Certificate(akcert)), 'hosta.example', 'the AK certificate names the normal form');
  t.match(await server.store.getMachine('hosta.example'), { enrolled: Date }, 'stored under the normal form');
  t.same((await server.store.driver.all('SELECT hostname FROM machines')).map((r) => r.hostname), ['hosta.example'], 'one row');
  t.ok(parseResponse('nonce', await send(nonce('hostA.example.'))).nonce.length === 32, 'a nonce for another spelling');
  t.same((await server.store.driver.all('SELECT hostname FROM attestlog')).map((r) => r.hostname), ['hosta.example']);
  await refusedWithoutChange(t, server.store, '90000109', () => send(nonce('hostA.example ')));
});

const HOSTILE: [string, string][] = [
  ['CR/LF', 'evil.example\r\nCN=admin'],
  ['NUL', 'hosta\u0000.example'],
  ['HTML', '<script>alert(1)</script>'],
  ['a lone surrogate', 'hosta\ud800.example'],
  ['a space', 'hosta example'],
  ['a trailing space', 'hosta.example '],
  ['a U-label', 'bücher.example'],
  ['254 octets', `${'a.'.repeat(126)}bc`],
];

t.test('a name that is no DNS host name is refused by every command (90000109), at warn level', async (t) => {
  for (const [what, hostname] of HOSTILE) {
    const requests: [string, JsonObject][] = [
      ['enrollrequest', enrollrequest(hostname)],
      ['enrollcert', { command: 'enrollcert', hostname, challenge: '00'.repeat(32) }],
      ['nonce', nonce(hostname)],
      ['quote', { command: 'quote', hostname, quoted: 'ff544347', signature: '0014', templatehashalg: '0004' }],
    ];
    for (const [command, request] of requests) {
      const mark = log.requests().length;
      const err = await refusedWithoutChange(t, server.store, '90000109', () => send(request));
      t.match(err.message, /^hostname /, `${what}, ${command}: says what is wrong with the hostname`);
      const line = await log.waitFor((l) => l.msg === 'request' && l.outcome === '90000109' && log.requests().indexOf(l) >= mark);
      t.equal(line.level, 40, `${what}, ${command}: logged at warn`);
    }
  }
  t.equal((await server.store.driver.all('SELECT COUNT(*) AS n FROM attestlog'))[0]?.n, 1, 'no attestation row was added');
});

t.test('acs-client refuses a bad name before reaching the server and prints it escaped', async (t) => {
  const hostname = 'evil\u001b[31m\r\nname\u009b';
  const err = await promisify(execFile)(process.execPath, [CLIENT, 'enroll', '--server', `127.0.0.1:${server.port}`, '--tpm', swtpm.tcti, '--hostname', hostname, '--state-dir', '/nonexistent-acs-state'])
    .then(() => undefined, (e: { code: number; stdout: string; stderr: string }) => e);
  t.ok(err, 'the command fails');
  t.not(err?.code, 0);
  t.match(err?.stderr, /hostname holds a space, a control or a non-ASCII character[^"]*: "evil\\u001b\[31m\\u000d\\u000aname\\u009b"/);
  t.notOk(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(`${err?.stdout}${err?.stderr}`), 'no control character printed');
  t.equal(log.requests().filter((l) => l.command === 'enrollrequest' && l.hostname === hostname).length, 0, 'nothing was sent');
});
