/**
 * Parent side of the benchmarked server process: fork, wait until it
 * listens, ask for its statistics, stop it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpuMeterFor, type CpuMeter } from './cpu-meter.js';
import type { FromChild, MemorySample, ServerProcessConfig, ServerStats, ToChild } from './server-process.js';

type Unsent<T> = T extends unknown ? Omit<T, 'id'> : never;

const CHILD = fileURLToPath(new URL('./server-process.js', import.meta.url));
const START_TIMEOUT_MS = 60_000;
const REPLY_TIMEOUT_MS = 30_000;

/** The server process failed to start, died, or stopped answering. */
export class ServerProcessError extends Error {
  override name = 'ServerProcessError';
}

export class BenchServer {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: FromChild) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private exited: string | null = null;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    /** CPU of the load generator and of the server's database process, when that is on this machine. */
    readonly cpu: CpuMeter,
  ) {
    child.on('message', (m: FromChild) => {
      if (!('id' in m)) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(m.id);
      p.resolve(m);
    });
    child.on('exit', (code, signal) => {
      this.exited = `server process exited (code ${code}, signal ${signal})`;
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new ServerProcessError(this.exited));
      }
      this.pending.clear();
    });
  }

  /** Forks the server; `execArgv` e.g. ['--cpu-prof', '--cpu-prof-dir=…']. */
  static start(config: ServerProcessConfig, execArgv: string[] = []): Promise<BenchServer> {
    const child = fork(CHILD, [JSON.stringify(config)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new ServerProcessError(why));
      };
      const timer = setTimeout(() => fail('server process did not start listening in time'), START_TIMEOUT_MS);
      child.once('exit', (code) => fail(`server process exited during start (code ${code})`));
      child.on('message', function first(m: FromChild) {
        if (m.type === 'fatal') fail(`server failed to start: ${m.message}`);
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        child.off('message', first);
        child.removeAllListeners('exit');
        cpuMeterFor(config.db).then((meter) => resolve(new BenchServer(child, m.port, meter)), (e: Error) => fail(`database process: ${e.message}`));
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  private request(msg: Unsent<ToChild>): Promise<FromChild> {
    if (this.exited) return Promise.reject(new ServerProcessError(this.exited));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ServerProcessError(`server process did not answer "${msg.type}"`));
      }, REPLY_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.child.send({ ...msg, id } as ToChild);
    });
  }

  /** Statistics since the last reset; `reset` starts a new interval. */
  async stats(reset = false): Promise<ServerStats> {
    const m = await this.request({ type: 'stats', reset });
    if (m.type !== 'stats') throw new ServerProcessError(`unexpected reply ${m.type}`);
    return m.stats;
  }

  /** Current and peak memory only (cheap enough to sample during a run). */
  async memory(): Promise<MemorySample> {
    const m = await this.request({ type: 'memory' });
    if (m.type !== 'memory') throw new ServerProcessError(`unexpected reply ${m.type}`);
    return m.memory;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      await this.request({ type: 'stop' });
    } catch {
      this.child.kill('SIGKILL');
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
