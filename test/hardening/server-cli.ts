/**
 * acs-server as its users run it: `node dist/server/cli.js` in a child
 * process over the files of server-setup.ts, its JSON log read from stderr.
 * Ready once it logs "acs-server ready"; stopped with a signal of the test's
 * choosing; started again on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { LogCapture } from './log-capture.js';
import type { ServerFiles } from './server-setup.js';
import { endpoint, type Endpoint } from './stepped-host.js';

export const SERVER_CLI = fileURLToPath(new URL('../../server/cli.js', import.meta.url));

export class ServerCliError extends Error {
  override name = 'ServerCliError';
  constructor(message: string, readonly exitCode: number | null, readonly stderr: string) {
    super(message);
  }
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  log: LogCapture;
}

/** Arguments for serving `files` on `port` (0: any), the web UI off. */
export function serveArgs(files: ServerFiles, port: number, extra: string[] = []): string[] {
  return ['--port', String(port), '--host', '127.0.0.1', '--db', files.dbUrl, '--ca-dir', files.caDir, '--roots', files.rootsDir, '--web-port', '0', ...extra];
}

export class ServerCli {
  /** Every run's log, in order. */
  readonly runs: CliRun[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  port = 0;

  private constructor(private readonly args: string[]) {}

  /** Starts `acs-server <args>` and waits until it is ready; killed when `t` ends. */
  static async start(t: Test, args: string[], timeoutMs = 30_000): Promise<ServerCli> {
    const server = new ServerCli(args);
    t.teardown(() => server.stop('SIGKILL'));
    await server.spawn(args, timeoutMs);
    return server;
  }

  get ep(): Endpoint {
    return endpoint(this.port);
  }

  get log(): LogCapture {
    return this.runs[this.runs.length - 1]!.log;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private spawn(args: string[], timeoutMs: number): Promise<void> {
    const log = new LogCapture();
    const run: CliRun = { code: null, signal: null, log };
    this.runs.push(run);
    const child = spawn(process.execPath, [SERVER_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ACS_LOG_LEVEL: 'info' } });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => log.push(d));
    child.stderr!.on('data', (d: Buffer) => log.push(d));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      run.code = code;
      run.signal = signal;
      resolve();
    }));
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearInterval(poll);
        child.kill('SIGKILL');
        reject(new ServerCliError(why, child.exitCode, log.text));
      };
      const until = Date.now() + timeoutMs;
      const poll = setInterval(() => {
        const ready = log.lines.find((l) => l.msg === 'acs-server ready');
        if (ready) {
          clearInterval(poll);
          this.port = Number(ready.port);
          resolve();
        } else if (child.exitCode !== null) fail(`acs-server exited with code ${child.exitCode}: ${log.text.slice(-2000)}`);
        else if (Date.now() > until) fail(`acs-server not ready after ${timeoutMs} ms`);
      }, 20);
    });
  }

  /** Stops the process with `signal` and waits for it to exit. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Starts the same command again on the port it had (the next run). */
  async restart(timeoutMs = 30_000): Promise<void> {
    const args = [...this.args];
    const i = args.indexOf('--port');
    args[i + 1] = String(this.port);
    await this.spawn(args, timeoutMs);
  }
}

/** Runs acs-server with `args` to completion (a command that should exit), e.g. `init` or a refused start. */
export function runCli(args: string[], timeoutMs = 30_000): Promise<CliRun> {
  const log = new LogCapture();
  const child = spawn(process.execPath, [SERVER_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d: Buffer) => log.push(d));
  child.stderr.on('data', (d: Buffer) => log.push(d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, log });
    });
  });
}
