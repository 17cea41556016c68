/**
 * CPU time of the other parties to a measured interval: this process (the
 * load generator) and, when the database is a MariaDB/MySQL server on this
 * machine, that server's process. With the server's own figure they show
 * where each attestation's CPU goes on a machine all three share.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { storeLocation } from '../../db/open.js';

/** Linux's USER_HZ: /proc/PID/stat counts CPU time in these ticks. */
const TICKS_PER_S = 100;
const DATABASE_COMMANDS = new Set(['mariadbd', 'mysqld']);

/**
 * The local MariaDB/MySQL server process, if one runs on this machine and /proc shows it. With several,
 * the one whose command line names `mark` (its socket path or `--port=N`) is taken, else the first.
 */
export function localDatabasePid(mark?: string): number | undefined {
  const found: number[] = [];
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (!DATABASE_COMMANDS.has(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) continue;
        if (mark && readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').some((arg) => arg.includes(mark))) return Number(entry);
        found.push(Number(entry));
      } catch {
        // the process ended while the list was read
      }
    }
  } catch {
    // no /proc
  }
  return found[0];
}

/** utime + stime of a process, ms; NaN when it cannot be read. */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
  } catch {
    return NaN;
  }
}

export interface CpuSample {
  clientMs: number;
  databaseMs: number;
}

export class CpuMeter {
  constructor(private readonly databasePid: number | undefined) {}

  sample(): CpuSample {
    const own = process.cpuUsage();
    return {
      clientMs: (own.user + own.system) / 1000,
      databaseMs: this.databasePid === undefined ? NaN : processCpuMs(this.databasePid),
    };
  }

  /** CPU used since `from`, per party. */
  since(from: CpuSample): CpuSample {
    const now = this.sample();
    return { clientMs: now.clientMs - from.clientMs, databaseMs: now.databaseMs - from.databaseMs };
  }
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1']);

/** A meter for the load generator and, when `db` (the server's --db; undefined: ACS_SQL_*) is a MySQL server on this machine, that server. */
export function cpuMeterFor(db: string | undefined, env: NodeJS.ProcessEnv = process.env): CpuMeter {
  const where = storeLocation(db, env);
  const local = where.dialect === 'mysql' && (where.mysql.socketPath !== undefined || LOCAL_HOSTS.has(where.mysql.host));
  const mark = where.dialect === 'mysql' ? (where.mysql.socketPath ?? `--port=${where.mysql.port}`) : undefined;
  return new CpuMeter(local ? localDatabasePid(mark) : undefined);
}
