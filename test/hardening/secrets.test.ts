/**
 * Secrets, through the CLI as an operator runs it. `acs-server init` writes
 * the privacy-CA key 0600 (its directory 0700); a key file that group or
 * others can read stops the server at start with a message naming the file,
 * its mode and the fix. With --verbose, the log of a full enrollment and
 * attestation (a real swtpm host and a software one, plus a refusal) holds
 * every request and response, yet no private key material — no PEM private
 * key, none of the CA key's RSA integers in hex or base64 — and not the
 * database password.
 */
import t from 'tap';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { CA_CERT_FILE, CA_KEY_FILE } from '../../server/privacy-ca.js';
import { refusal } from './outcome.js';
import { ServerCli, runCli, serveArgs } from './server-cli.js';
import { realHostAndFiles } from './server-setup.js';
import { SteppedHost } from './stepped-host.js';

const { real, files } = await realHostAndFiles(t, 'real.secrets.test');
const scratch = await mkdtemp(join(tmpdir(), 'acs-secrets-'));
t.teardown(() => rm(scratch, { recursive: true, force: true }));
const caDir = join(scratch, 'ca');
const keyPath = join(caDir, CA_KEY_FILE);
const figures: string[] = [];

/** A database user with a password, granted only the test database, so the log can be searched for the password. */
async function passwordUser(): Promise<{ url: string; password: string }> {
  const url = new URL(files.dbUrl);
  const database = url.pathname.slice(1);
  const user = `acs_secret_${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const conn = await mysql.createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username) || 'root' });
  try {
    await conn.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password]);
    await conn.query(`GRANT ALL ON \`${database}\`.* TO ?@?`, [user, '%']);
  } finally {
    await conn.end();
  }
  t.teardown(async () => {
    const c = await mysql.createConnection({ host: url.hostname, port: Number(url.port || 3306), user: 'root' });
    await c.query('DROP USER IF EXISTS ?@?', [user, '%']).finally(() => c.end());
  });
  url.username = user;
  url.password = password;
  return { url: url.href, password };
}

/** Every form the CA private key's integers could take in a log: hex (either case), base64url, base64. */
async function caKeyForms(): Promise<Record<string, string[]>> {
  const pem = await readFile(keyPath, 'utf8');
  const jwk = createPrivateKey(pem).export({ format: 'jwk' });
  const forms: Record<string, string[]> = { 'PEM body': [pem.split('\n')[1]!] };
  for (const name of ['n', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
    const raw = Buffer.from(jwk[name]!, 'base64url');
    // A 24-byte window from the middle: long enough to be unique, found even if the log cut the value.
    const mid = raw.subarray(Math.floor(raw.length / 2) - 12, Math.floor(raw.length / 2) + 12);
    forms[`CA key ${name}`] = [mid.toString('hex'), mid.toString('hex').toUpperCase(), raw.toString('base64url').slice(8, 40), raw.toString('base64').slice(8, 40)];
  }
  return forms;
}

t.test('privacy CA key: written 0600, refused at start when group or others can read it', async (t) => {
  const init = await runCli(['init', '--ca-dir', caDir]);
  t.equal(init.code, 0, `init: ${init.log.text.trim()}`);
  t.equal((await stat(keyPath)).mode & 0o777, 0o600, `${CA_KEY_FILE} is 0600`);
  t.equal((await stat(caDir)).mode & 0o777, 0o700, 'its directory is 0700');
  t.equal((await stat(join(caDir, CA_CERT_FILE))).mode & 0o777, 0o644, `${CA_CERT_FILE} is 0644`);

  const refused: string[] = [];
  for (const mode of [0o640, 0o604]) {
    await chmod(keyPath, mode);
    const run = await runCli(serveArgs({ ...files, caDir }, 0));
    const octal = mode.toString(8);
    t.not(run.code, 0, `mode ${octal}: the server does not start (exit ${run.code})`);
    t.match(run.log.text, `privacy CA key ${keyPath} is accessible by group or others (mode ${octal}); chmod 600 it`, `mode ${octal}: the message names the file, the mode and the fix`);
    t.notOk(run.log.lines.some((l) => l.msg === 'acs-server ready' || l.msg === 'listening'), `mode ${octal}: nothing listened`);
    refused.push(octal);
  }
  await chmod(keyPath, 0o600);
  const server = await ServerCli.start(t, serveArgs({ ...files, caDir }, 0));
  t.ok(server.port > 0, 'at 0600 it starts');
  await server.stop('SIGTERM');
  figures.push(`init wrote ${CA_KEY_FILE} 0600 (dir 0700); modes ${refused.join('/')} refused at start with the file, mode and "chmod 600"`);
});

t.test('--verbose: the whole enroll + attest log holds no private key material', async (t) => {
  const db = await passwordUser();
  const server = await ServerCli.start(t, serveArgs({ ...files, caDir, dbUrl: db.url }, 0, ['--verbose']));
  await real.enroll(server.ep);
  const attested = await real.attest(server.ep);
  t.equal(attested.newBoot, true, 'the swtpm host enrolled and attested with full logs');
  const soft = new SteppedHost('soft.secrets.test', files.ekCa, 5);
  await soft.enroll(server.ep);
  const issued = await soft.attest(server.ep);
  t.equal(await refusal(soft.send(server.ep, soft.request(soft.quote(issued), issued.imaentry))), '9000001c', 'and a refused replay');
  await server.stop('SIGTERM');

  const { text, lines } = server.log;
  const frames = lines.filter((l) => l.msg === 'request' && l.request !== undefined && l.response !== undefined);
  const commands = new Set(frames.map((l) => l.command));
  t.same([...commands].sort(), ['enrollcert', 'enrollrequest', 'nonce', 'quote'], 'verbose logged the request and response of every command');
  t.ok(frames.some((l) => l.command === 'enrollcert' && /BEGIN CERTIFICATE/.test(JSON.stringify(l.response))), 'including the issued AK certificate');

  const forms = await caKeyForms();
  const leaks = (haystack: string): string[] => [
    ...['PRIVATE KEY', 'BEGIN RSA', 'BEGIN EC'].filter((marker) => haystack.includes(marker)),
    ...Object.entries(forms).filter(([, values]) => values.some((v) => haystack.includes(v))).map(([what]) => what),
    ...(haystack.includes(db.password) ? ['database password'] : []),
  ];
  const planted = JSON.stringify({ key: await readFile(keyPath, 'utf8'), jwk: createPrivateKey(await readFile(keyPath)).export({ format: 'jwk' }), url: db.url });
  t.same(leaks(planted), ['PRIVATE KEY', ...Object.keys(forms), 'database password'], 'the search finds each secret where it is');
  t.same(leaks(text), [], 'no private key material and no password in the log');
  figures.push(`--verbose log of 2 enrollments + 2 attestations + 1 refusal: ${lines.length} lines, ${Math.round(text.length / 1024)} KiB, ` +
    `${frames.length} frames logged; no "PRIVATE KEY", CA key n/d/p/q/dp/dq/qi (hex, base64) or DB password`);
});

t.test('summary', async (t) => {
  t.equal(figures.length, 2);
  t.comment(`secrets: ${figures.join('; ')}`);
});
