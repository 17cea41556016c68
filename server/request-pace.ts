/**
 * How long a request may take to arrive. Four bounds, each answered 90000102
 * by the connection: the first bytes within --first-byte-timeout (a parked
 * socket goes soon), no silence longer than --idle-timeout, at least
 * --min-request-rate bytes per second over each RATE_WINDOW_MS once bytes
 * flow (a trickle of a byte every few seconds, "slowloris", is cut), and the
 * whole request within --read-timeout. While the listener itself holds the
 * reading back (waiting for buffer memory) silence and rate are not counted
 * against the client; the whole-request deadline still runs.
 */
export const RATE_WINDOW_MS = 5000;

export interface PaceLimits {
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
  readTimeoutMs: number;
  /** Bytes per second. */
  minRequestRate: number;
}

export class RequestPace {
  private readonly deadline: NodeJS.Timeout;
  private silence: NodeJS.Timeout;
  private window: NodeJS.Timeout | undefined;
  private windowBytes = 0;
  private started = false;
  private held = false;

  constructor(private readonly limits: PaceLimits, private readonly expire: (reason: string) => void) {
    this.deadline = setTimeout(() => expire(`request not complete within ${limits.readTimeoutMs} ms`), limits.readTimeoutMs);
    const first = Math.min(limits.firstByteTimeoutMs, limits.idleTimeoutMs);
    this.silence = setTimeout(() => expire(`no data within ${first} ms`), first);
  }

  received(bytes: number): void {
    this.windowBytes += bytes;
    if (!this.started) {
      this.started = true;
      this.window = setInterval(() => this.checkRate(), RATE_WINDOW_MS);
      this.restartSilence();
    } else if (!this.held) {
      this.silence.refresh();
    }
  }

  /** The listener stops reading (no buffer memory yet): the client is not to blame for the pause. */
  hold(): void {
    this.held = true;
    clearTimeout(this.silence);
  }

  resume(): void {
    this.held = false;
    this.windowBytes = Math.max(this.windowBytes, this.limits.minRequestRate * (RATE_WINDOW_MS / 1000));
    this.restartSilence();
  }

  stop(): void {
    clearTimeout(this.deadline);
    clearTimeout(this.silence);
    clearInterval(this.window);
  }

  private restartSilence(): void {
    clearTimeout(this.silence);
    const ms = this.limits.idleTimeoutMs;
    this.silence = setTimeout(() => this.expire(`no data within ${ms} ms`), ms);
  }

  private checkRate(): void {
    const least = this.limits.minRequestRate * (RATE_WINDOW_MS / 1000);
    if (!this.held && this.windowBytes < least) {
      this.expire(`request slower than ${this.limits.minRequestRate} bytes/s (${this.windowBytes} bytes in ${RATE_WINDOW_MS} ms)`);
      return;
    }
    this.windowBytes = 0;
  }
}
