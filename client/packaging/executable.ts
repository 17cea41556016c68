/**
 * A Node.js single executable application (nodejs.org/api/single-executable-applications.html):
 * the bundled client as a blob (`node --experimental-sea-config`), injected
 * with postject into a stripped copy of the node binary that runs the build.
 * The result needs no Node.js installation, no node_modules and no
 * environment on the host.
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The fuse postject flips; a node binary without it cannot become an executable. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export class SeaUnsupportedError extends Error {
  override name = 'SeaUnsupportedError';
}

export async function checkSeaSupport(node: string): Promise<void> {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 12)) throw new SeaUnsupportedError(`Node.js ${process.versions.node} cannot build single executables (20.12 or later can)`);
  if (!(await readFile(node)).includes(SEA_FUSE)) {
    throw new SeaUnsupportedError(`${node} has no single-executable fuse (a distribution build without SEA support?)`);
  }
}

export async function buildExecutable(opts: { bundle: string; workDir: string; output: string }): Promise<void> {
  const node = process.execPath;
  await checkSeaSupport(node);
  const blob = join(opts.workDir, 'sea-prep.blob');
  const config = join(opts.workDir, 'sea-config.json');
  // No "experimental" warning on stderr: a cron job must stay silent on success.
  await writeFile(config, JSON.stringify({ main: opts.bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
  await run(node, ['--experimental-sea-config', config]);
  await copyFile(node, opts.output);
  await chmod(opts.output, 0o755);
  // Debug symbols are most of node's size and no use on a host.
  await run('strip', ['--strip-all', '--remove-section=.comment', opts.output]);
  const postject = createRequire(import.meta.url).resolve('postject/dist/cli.js');
  await run(node, [postject, opts.output, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
}
