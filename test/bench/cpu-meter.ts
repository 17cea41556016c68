/**
 * CPU time of the other parties to a measured interval: this process (the
 * load generator) and, when the database is a MariaDB/MySQL server (or a
 * cluster of them) on this machine, those servers' processes, identified
 * from the connection (database-process.ts). With the server's own figure they show
 * where each attestation's CPU goes on a machine all three share.
 */
import { readFileSync } from 'node:fs';
import { storeLocation } from '../../db/open.js';
import { databaseProcesses, type DatabaseProcess } from './database-process.js';

/** Linux's USER_HZ: /proc/PID/stat counts CPU time in these ticks. */
const TICKS_PER_S = 100;

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
  /** The database processes measured: all of the location's servers, or none when one is not identified. */
  private readonly pids: number[];

  constructor(readonly database: DatabaseProcess[]) {
    this.pids = database.length > 0 && database.every((d) => d.pid !== undefined) ? database.map((d) => d.pid!) : [];
  }

  /** One line for the report: which processes the database CPU figure is, or why there is none. */
  describe(): string {
    if (this.database.length === 0) return 'database CPU: none apart from the server (SQLite runs inside it)';
    const each = this.database.map((d) => `${d.server} ${d.pid !== undefined ? `pid ${d.pid} (by ${d.how})` : d.how}`).join('; ');
    return this.pids.length > 0 ? `database CPU measured: ${each}` : `database CPU not measured (left null): ${each}`;
  }

  sample(): CpuSample {
    const own = process.cpuUsage();
    return {
      clientMs: (own.user + own.system) / 1000,
      databaseMs: this.pids.length === 0 ? NaN : this.pids.reduce((sum, pid) => sum + processCpuMs(pid), 0),
    };
  }

  /** CPU used since `from`, per party. */
  since(from: CpuSample): CpuSample {
    const now = this.sample();
    return { clientMs: now.clientMs - from.clientMs, databaseMs: now.databaseMs - from.databaseMs };
  }
}

/** A meter for the load generator and the database processes behind `db` (the server's --db; undefined: ACS_SQL_*). */
export async function cpuMeterFor(db: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<CpuMeter> {
  return new CpuMeter(await databaseProcesses(storeLocation(db, env)));
}
