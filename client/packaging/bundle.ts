/**
 * The client as one CommonJS file (esbuild), the form a Node.js single
 * executable application runs. The metafile lists every input; a build
 * that pulled in server, web, database or SQLite code fails here, since
 * shared/ modules could drag them in through one careless import.
 */
import { writeFile } from 'node:fs/promises';
import { build, type Metafile } from 'esbuild';

/** Inputs the client must never contain. */
const FORBIDDEN_INPUTS = /(^|\/)(dist\/)?(server|web|db)\/|node_modules\/(better-sqlite3|mysql2|drizzle-orm|drizzle-kit|bindings)\//;

export class ForbiddenInputError extends Error {
  override name = 'ForbiddenInputError';
}

/** The npm packages a metafile's inputs come from, e.g. ["pino", "yargs", "@pinojs/redact"]. */
export function bundledPackages(meta: Metafile): string[] {
  const names = new Set<string>();
  for (const input of Object.keys(meta.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) names.add(m[1]);
  }
  return [...names].sort();
}

export async function bundleClient(opts: { entry: string; outFile: string; metaFile: string; version: string }): Promise<Metafile> {
  const result = await build({
    entryPoints: [opts.entry],
    outfile: opts.outFile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
    // ESM modules ask import.meta.url where they are; in the executable that is the executable itself.
    define: { 'import.meta.url': '__acs_import_meta_url', ACS_CLIENT_VERSION: JSON.stringify(opts.version) },
    banner: { js: "const __acs_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  });
  await writeFile(opts.metaFile, JSON.stringify(result.metafile));
  const forbidden = Object.keys(result.metafile.inputs).filter((i) => FORBIDDEN_INPUTS.test(i));
  if (forbidden.length) throw new ForbiddenInputError(`the client bundle would contain ${forbidden.slice(0, 5).join(', ')}`);
  return result.metafile;
}
