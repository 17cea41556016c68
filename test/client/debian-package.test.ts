/**
 * What dist/pkg/ ships, read with Debian's own tools: the .deb's file list
 * (`dpkg-deb -c`), control data (`-I`, `-f`), the units as systemd parses
 * them (`systemd-analyze verify`), lintian where it is installed, the
 * maintainer scripts on a host without systemd, and the bundle's inputs
 * (no server, web, database or SQLite code in the client).
 */
import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { BUNDLE_META, EXECUTABLE, debFile, ensurePackage, packageVersion } from '../helpers/client-package.js';

const run = promisify(execFile);
await ensurePackage();
const deb = await debFile();
const scratch = await mkdtemp(join(tmpdir(), 'acs-deb-'));
t.teardown(() => rm(scratch, { recursive: true, force: true }));
const root = join(scratch, 'root');
await run('dpkg-deb', ['-x', deb, root]);
const available = (cmd: string) => run('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false);
const dpkgDeb = async (...args: string[]) => (await run('dpkg-deb', args, { maxBuffer: 1 << 20 })).stdout;

const SERVICE = 'usr/lib/systemd/system/acs-client-attest.service';
const TIMER = 'usr/lib/systemd/system/acs-client-attest.timer';

t.test('control fields name the package, version and architecture', async (t) => {
  t.equal((await dpkgDeb('-f', deb, 'Package')).trim(), 'acs-client');
  t.equal((await dpkgDeb('-f', deb, 'Version')).trim(), await packageVersion());
  t.equal((await dpkgDeb('-f', deb, 'Architecture')).trim(), 'amd64');
  t.notMatch(await dpkgDeb('-f', deb, 'Depends'), /nodejs/, 'no Node.js needed on the host');
  const info = await dpkgDeb('-I', deb);
  t.match(info, /\bpostinst\b/);
  t.match(info, /\bprerm\b/);
  t.equal((await dpkgDeb('-I', deb, 'conffiles')).trim().split('\n').sort().join(' '), '/etc/acs-client/client.conf /etc/cron.d/acs-client');
});

t.test('the file list: executable, units, conffile, cron line, state dir 0700, man page', async (t) => {
  const list = await dpkgDeb('-c', deb);
  const entry = (path: string) => list.split('\n').find((l) => l.endsWith(` ./${path}`)) ?? '';
  t.match(entry('usr/bin/acs-client'), /^-rwxr-xr-x root\/root /);
  t.match(entry(SERVICE), /^-rw-r--r-- root\/root /);
  t.match(entry(TIMER), /^-rw-r--r-- root\/root /);
  t.match(entry('etc/acs-client/client.conf'), /^-rw-r--r-- root\/root /);
  t.match(entry('etc/cron.d/acs-client'), /^-rw-r--r-- root\/root /);
  t.match(entry('var/lib/acs-client/'), /^drwx------ root\/root /);
  t.ok(entry('usr/share/man/man1/acs-client.1.gz'), 'man page');
  const digest = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');
  t.equal(await digest(join(root, 'usr/bin/acs-client')), await digest(EXECUTABLE), 'the packaged binary is dist/pkg/acs-client');
});

t.test('units: oneshot and hardened service, randomized persistent timer', async (t) => {
  const service = await readFile(join(root, SERVICE), 'utf8');
  for (const line of ['Type=oneshot', 'ExecStart=/usr/bin/acs-client attest', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/acs-client', 'PrivateTmp=yes', 'NoNewPrivileges=yes', 'DevicePolicy=closed', 'DeviceAllow=/dev/tpmrm0 rw']) {
    t.match(service, new RegExp(`^${line}$`, 'm'), line);
  }
  const timer = await readFile(join(root, TIMER), 'utf8');
  t.match(timer, /^OnCalendar=\S+$/m);
  t.match(timer, /^RandomizedDelaySec=[1-9]\d*$/m);
  t.match(timer, /^Persistent=true$/m);
  t.match(timer, /^WantedBy=timers\.target$/m);
});

t.test('systemd-analyze verify accepts the units', { skip: !(await available('systemd-analyze')) && 'no systemd-analyze' }, async (t) => {
  // A root with this host's units (for the targets they name) and the package.
  const sysroot = join(scratch, 'sysroot');
  await cp('/usr/lib/systemd/system', join(sysroot, 'usr/lib/systemd/system'), { recursive: true });
  await cp(root, sysroot, { recursive: true });
  const { stdout, stderr } = await run('systemd-analyze', ['verify', '--man=no', `--root=${sysroot}`, join(sysroot, SERVICE), join(sysroot, TIMER)]);
  t.equal(stderr + stdout, '', 'no warnings');
});

t.test('the conffile holds the settings the client reads; the cron line is commented out', async (t) => {
  const conf = await readFile(join(root, 'etc/acs-client/client.conf'), 'utf8');
  for (const key of ['server', 'tpm', 'hostname']) t.match(conf, new RegExp(`^#${key} = `, 'm'), key);
  const cron = (await readFile(join(root, 'etc/cron.d/acs-client'), 'utf8')).split('\n').filter((l) => l.trim());
  t.ok(cron.every((l) => l.startsWith('#')), 'every line commented');
  t.ok(cron.some((l) => /^#.* root .*\/usr\/bin\/acs-client attest --splay \d+/.test(l)), 'a ready cron line');
});

t.test('maintainer scripts do nothing where systemd does not run', { skip: (await access('/run/systemd/system').then(() => true, () => false)) && 'systemd runs here' }, async (t) => {
  const control = join(scratch, 'control');
  await run('dpkg-deb', ['-e', deb, control]);
  const bin = join(scratch, 'fakebin');
  const calls = join(scratch, 'calls');
  await mkdir(bin);
  for (const tool of ['systemctl', 'deb-systemd-helper', 'deb-systemd-invoke']) {
    await writeFile(join(bin, tool), `#!/bin/sh\necho ${tool} "$@" >> ${calls}\n`);
    await chmod(join(bin, tool), 0o755);
  }
  const env = { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin` };
  for (const [script, arg] of [['postinst', 'configure'], ['prerm', 'remove'], ['postrm', 'remove']]) {
    await run('sh', [join(control, script), arg], { env });
  }
  t.notOk(await access(calls).then(() => true, () => false), 'no systemd tool was called');
});

t.test('lintian finds no warning or error', { skip: !(await available('lintian')) && 'lintian not installed' }, async (t) => {
  const r = await run('lintian', ['--fail-on', 'warning,error', deb], { maxBuffer: 1 << 22 }).then(
    (o) => ({ code: 0, out: o.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
  );
  t.equal(r.code, 0, r.out);
  t.notMatch(r.out, /^[EW]: /m);
});

t.test('the bundle holds the client and none of the server, web, database or SQLite', async (t) => {
  const inputs = Object.keys((JSON.parse(await readFile(BUNDLE_META, 'utf8')) as { inputs: Record<string, unknown> }).inputs);
  t.ok(inputs.some((i) => i.endsWith('dist/client/cli.js')), 'the client CLI is the entry');
  t.ok(inputs.some((i) => i.includes('node_modules/yargs/')), 'its dependencies are inside');
  t.strictSame(inputs.filter((i) => /dist\/(server|web|db)\//.test(i)), [], 'no server, web or db modules');
  t.strictSame(inputs.filter((i) => /node_modules\/(better-sqlite3|mysql2|drizzle-orm|bindings)\//.test(i)), [], 'no database drivers');
  const exe = await readFile(EXECUTABLE);
  for (const s of ['better_sqlite3.node', 'drizzle-orm', 'mysql2']) t.equal(exe.indexOf(s), -1, `the executable holds no "${s}"`);
});
