/**
 * `npm run package`: builds dist/pkg/acs-client (one executable for
 * linux-x64 with its runtime inside) and dist/pkg/acs-client_<version>_amd64.deb
 * from the compiled client in dist/. dist/pkg/bundle-meta.json lists what
 * went into the executable.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleClient, bundledPackages } from './bundle.js';
import { buildDeb } from './deb.js';
import { buildExecutable } from './executable.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PKG_DIR = join(ROOT, 'dist/pkg');

async function packageJson(dir: string): Promise<{ name: string; version: string; license?: string }> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
}

async function main(): Promise<void> {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`the package is built for linux-x64, not ${process.platform}-${process.arch}`);
  const { version } = await packageJson(ROOT);
  const work = join(PKG_DIR, 'build');
  await rm(PKG_DIR, { recursive: true, force: true });
  await mkdir(work, { recursive: true });

  const bundle = join(work, 'acs-client.cjs');
  const meta = await bundleClient({ entry: join(ROOT, 'dist/client/cli.js'), outFile: bundle, metaFile: join(PKG_DIR, 'bundle-meta.json'), version });
  const executable = join(PKG_DIR, 'acs-client');
  await buildExecutable({ bundle, workDir: work, output: executable });
  const bundled = await Promise.all(
    bundledPackages(meta).map(async (name) => {
      const p = await packageJson(join(ROOT, 'node_modules', name));
      return { name, version: p.version, license: p.license ?? 'see the package' };
    }),
  );
  const deb = await buildDeb({ version, executable, sources: join(ROOT, 'client/packaging/debian'), bundled, workDir: work, outDir: PKG_DIR });
  await rm(work, { recursive: true, force: true });
  console.log(`built ${executable} and ${deb}`);
}

try {
  await main();
} catch (err) {
  console.error(`package: ${(err as Error).message}`);
  process.exitCode = 1;
}
