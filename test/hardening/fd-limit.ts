/**
 * The open-file limit of this process. Thousands of loopback connections
 * held by one test process cost two descriptors each (client and server
 * side); the soft limit is raised to the hard one with prlimit(1) when it is
 * too low, since `ulimit -n` only applies to the shell that runs it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface FileLimit {
  soft: number;
  hard: number;
}

/** The "Max open files" row of /proc/self/limits ("unlimited" read as Infinity). */
export function openFileLimit(): FileLimit {
  const row = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const m = row ? /^Max open files\s+(\S+)\s+(\S+)/.exec(row) : null;
  if (!m) throw new Error('no "Max open files" row in /proc/self/limits');
  const value = (s: string): number => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: value(m[1]!), hard: value(m[2]!) };
}

/** Makes sure `needed` descriptors can be open at once; throws when even the hard limit is lower. */
export function ensureOpenFiles(needed: number): FileLimit {
  const limit = openFileLimit();
  if (limit.soft >= needed) return limit;
  if (limit.hard < needed) throw new Error(`need ${needed} open files, hard limit is ${limit.hard}`);
  const hard = Number.isFinite(limit.hard) ? String(limit.hard) : 'unlimited';
  execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:${hard}`]);
  return openFileLimit();
}
