/**
 * The syslog sink's local path: an alert sent to a Unix datagram socket (as
 * /dev/log is) through util-linux logger arrives as one RFC 5424 message with
 * the alert's priority, app name, msgid and JSON body. The receiving socket
 * is Python's (Node has no Unix datagram sockets).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alertBody } from '../../server/alerts/alert.js';
import { sendSyslog } from '../../server/alerts/syslog.js';

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('ready', flush=True)
sys.stdout.write(s.recv(65536).decode('utf-8'))
`;

t.test('an alert through logger to a Unix datagram socket', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acs-syslog-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'log');
  const receiver = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => receiver.kill());
  let out = '';
  const received = new Promise<string>((resolve) => {
    receiver.stdout.on('data', (d: Buffer) => (out += d.toString()));
    receiver.once('close', () => resolve(out));
  });
  await new Promise<void>((resolve) => receiver.stdout.once('data', () => resolve()));
  const alert = alertBody({ type: 'security.forged_quote', hostname: 'h.example', summary: 's', details: { reason: 'r' } }, new Date());
  const body = JSON.stringify(alert);
  await sendSyslog({ kind: 'unix', path }, alert, body, 10_000);
  const message = (await received).replace(/^ready\n/, '');
  const m = /^<(\d+)>1 \S+ \S+ acs-server (\d+) security\.forged_quote (\[.*?\]|-) (\{.*\})\n?$/s.exec(message);
  t.ok(m, `RFC 5424: ${message}`);
  t.equal(Number(m?.[1]), 10 * 8 + 2, 'authpriv.crit');
  t.equal(Number(m?.[2]), process.pid, 'PROCID');
  t.same(JSON.parse(m?.[4] ?? '{}'), alert, 'the JSON body as MSG');
  await t.rejects(sendSyslog({ kind: 'unix', path: join(dir, 'absent') }, alert, body, 10_000), /logger exited/, 'no socket: the delivery fails');
});
