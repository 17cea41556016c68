import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname as osHostname, userInfo } from 'node:os';
import { HostnameError, normalizeHostname, printableName } from '../shared/protocol/hostname.js';

/**
 * The name to enroll or attest as, in the normal form the server compares
 * (lower case, no trailing dot); a name the server would refuse stops here,
 * printed with its unprintable characters escaped.
 */
export function hostnameToSend(raw: string): string {
  try {
    return normalizeHostname(raw);
  } catch (e) {
    if (e instanceof HostnameError) throw new HostnameError(`${e.message}: ${printableName(raw)}`);
    throw e;
  }
}

/** The machine's fully qualified name (`hostname -f`), falling back to the kernel's hostname. */
export function defaultHostname(): string {
  try {
    const fqdn = execFileSync('hostname', ['-f'], { timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (fqdn) return fqdn;
  } catch {
    // hostname -f fails when the name does not resolve; the plain name still identifies the host.
  }
  return osHostname();
}

/** The login running the client, "unknown" when it has none (IBM ACS sends the same). */
export function defaultUserid(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Boot time from /proc/stat `btime`, as "YYYY-MM-DD HH:MM:SS" in local time (what `uptime -s` prints). */
export function bootTime(procStat = '/proc/stat'): string {
  const m = /^btime (\d+)$/m.exec(readFileSync(procStat, 'utf8'));
  if (!m) throw new Error(`no btime in ${procStat}`);
  return formatBootTime(new Date(Number(m[1]) * 1000));
}

export function formatBootTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
