/**
 * The client's version: fixed into the packaged executable when it is
 * bundled, read from package.json when run from the source tree.
 */
import { readFileSync } from 'node:fs';

/** Replaced by the bundler with the package version. */
declare const ACS_CLIENT_VERSION: string | undefined;

export function clientVersion(): string {
  if (typeof ACS_CLIENT_VERSION === 'string') return ACS_CLIENT_VERSION;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
