/**
 * Alert options the server refuses before it starts, with exit code 2 and one
 * line naming the problem: a webhook without a signing secret, an empty
 * secret file, a webhook URL with credentials, a malformed syslog target.
 */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrivacyCa } from '../../server/privacy-ca.js';
import { runCli } from '../hardening/server-cli.js';

const dir = await mkdtemp(join(tmpdir(), 'acs-alert-config-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
await PrivacyCa.init(join(dir, 'ca'));
await writeFile(join(dir, 'empty'), '\n');
const serve = (...extra: string[]) =>
  runCli(['--port', '0', '--host', '127.0.0.1', '--web-port', '0', '--db', `sqlite:${join(dir, 'acs.db')}`, '--ca-dir', join(dir, 'ca'), ...extra]);

const cases: [string, string[], RegExp][] = [
  ['a webhook needs a secret', ['--notify-webhook', 'https://hooks.example/acs'], /--notify-webhook needs --notify-secret FILE/],
  ['the secret must not be empty', ['--notify-webhook', 'https://hooks.example/acs', '--notify-secret', join(dir, 'empty')], /--notify-secret .* is empty/],
  ['the secret file must exist', ['--notify-webhook', 'https://hooks.example/acs', '--notify-secret', join(dir, 'absent')], /--notify-secret .*absent: ENOENT/],
  ['no credentials in the URL', ['--notify-webhook', 'https://u:p@hooks.example/acs', '--notify-secret', join(dir, 'empty')], /put no credentials in the URL/],
  ['a syslog target is udp:HOST:PORT or a path', ['--notify-syslog', 'tcp:logs:514'], /expected udp:HOST:PORT or a socket path/],
];
for (const [name, args, message] of cases) {
  t.test(name, async (t) => {
    const run = await serve(...args);
    t.equal(run.code, 2, 'exit code 2');
    t.match(run.log.text, message);
    t.notMatch(run.log.text, /acs-server ready/, 'the server did not start');
  });
}
