/**
 * acs-client_<version>_amd64.deb, assembled with dpkg-deb alone (no
 * network, no debhelper): the executable, the systemd timer and its
 * hardened service, client.conf and the commented cron line as conffiles,
 * the state directory 0700, the man page, copyright and changelog, and
 * maintainer scripts that touch the timer only where systemd runs.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

const run = promisify(execFile);

export const PACKAGE = 'acs-client';
const MAINTAINER = 'tpm-acs developers <tpm-acs@example.org>';

export interface DebOptions {
  version: string;
  executable: string;
  /** client/packaging/debian: units, conffiles, maintainer scripts, man page. */
  sources: string;
  /** npm packages inside the executable, for the copyright file. */
  bundled: { name: string; version: string; license: string }[];
  workDir: string;
  outDir: string;
}

/** Path in the package → [file in sources, mode]. */
const FILES: Record<string, [string, number]> = {
  'usr/lib/systemd/system/acs-client-attest.service': ['acs-client-attest.service', 0o644],
  'usr/lib/systemd/system/acs-client-attest.timer': ['acs-client-attest.timer', 0o644],
  'etc/acs-client/client.conf': ['client.conf', 0o644],
  'etc/cron.d/acs-client': ['cron.d', 0o644],
  'usr/share/lintian/overrides/acs-client': ['lintian-overrides', 0o644],
};
const CONFFILES = ['/etc/acs-client/client.conf', '/etc/cron.d/acs-client'];
const SCRIPTS = ['postinst', 'prerm', 'postrm'];

const gzip = (data: string | Buffer) => gzipSync(data, { level: 9 });

async function put(root: string, path: string, data: string | Buffer, mode: number): Promise<void> {
  const file = join(root, path);
  await mkdir(dirname(file), { recursive: true, mode: 0o755 });
  await writeFile(file, data);
  await chmod(file, mode);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

function changelog(version: string): string {
  const date = new Date().toUTCString().replace('GMT', '+0000');
  return `${PACKAGE} (${version}) unstable; urgency=medium\n\n  * Release ${version}.\n\n -- ${MAINTAINER}  ${date}\n`;
}

function control(version: string, installedKb: number): string {
  return `Package: ${PACKAGE}
Version: ${version}
Architecture: amd64
Maintainer: ${MAINTAINER}
Installed-Size: ${installedKb}
Depends: libc6 (>= 2.28), libgcc-s1, libstdc++6
Suggests: systemd | cron
Section: admin
Priority: optional
Description: TPM 2.0 remote attestation client (IBM ACS compatible)
 acs-client proves to an acs-server, from the TPM's signed quote and the
 host's firmware and IMA measurement logs, what the host booted and ran.
 Run "acs-client enroll" once; the acs-client-attest.timer systemd timer
 attests from then on (an /etc/cron.d alternative is included, commented
 out). One executable with its runtime inside: no Node.js needed.
`;
}

export async function buildDeb(o: DebOptions): Promise<string> {
  const root = join(o.workDir, 'deb');
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { mode: 0o755 });
  await mkdir(join(root, 'usr/bin'), { recursive: true, mode: 0o755 });
  await copyFile(o.executable, join(root, 'usr/bin/acs-client'));
  await chmod(join(root, 'usr/bin/acs-client'), 0o755);
  for (const [path, [src, mode]] of Object.entries(FILES)) await put(root, path, await readFile(join(o.sources, src)), mode);
  await put(root, 'usr/share/man/man1/acs-client.1.gz', gzip(await readFile(join(o.sources, 'acs-client.1'))), 0o644);
  await put(root, 'usr/share/doc/acs-client/changelog.gz', gzip(changelog(o.version)), 0o644);
  const bundled = o.bundled.map((p) => ` ${p.name} ${p.version} (${p.license})`).join('\n');
  const copyright = (await readFile(join(o.sources, 'copyright.in'), 'utf8'))
    .replaceAll('@NODE_VERSION@', process.version)
    .replace('@BUNDLED@', bundled);
  await put(root, 'usr/share/doc/acs-client/copyright', copyright, 0o644);
  // Holds the AK blobs: root only.
  await mkdir(join(root, 'var/lib/acs-client'), { recursive: true });
  await chmod(join(root, 'var/lib/acs-client'), 0o700);

  const payload = await filesUnder(root);
  let bytes = 0;
  const sums: string[] = [];
  for (const f of payload) {
    const data = await readFile(f);
    bytes += (await stat(f)).size;
    sums.push(`${createHash('md5').update(data).digest('hex')}  ${relative(root, f)}`);
  }
  await put(root, 'DEBIAN/md5sums', `${sums.sort((a, b) => a.slice(34).localeCompare(b.slice(34))).join('\n')}\n`, 0o644);
  await put(root, 'DEBIAN/conffiles', `${CONFFILES.join('\n')}\n`, 0o644);
  await put(root, 'DEBIAN/control', control(o.version, Math.ceil(bytes / 1024)), 0o644);
  for (const s of SCRIPTS) await put(root, `DEBIAN/${s}`, await readFile(join(o.sources, s)), 0o755);

  const deb = join(o.outDir, `${PACKAGE}_${o.version}_amd64.deb`);
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, deb]);
  return deb;
}
