/**
 * The bound on work: complete requests being verified and answered at once
 * (`--max-requests`), and how many more may wait for a turn
 * (`--max-queued-requests`). Holding a connection costs no turn; only a
 * request that arrived whole takes one. When both are full the request is
 * answered 90000103 (server busy), the only case that code is sent.
 */
export class WorkQueue {
  private running = 0;
  private readonly waiting: (() => Promise<void>)[] = [];

  constructor(private readonly maxRunning: number, private readonly maxWaiting: number) {}

  /** Requests running plus waiting. */
  get size(): number {
    return this.running + this.waiting.length;
  }

  /** Runs `task` now or when a turn frees; false when there is no room to wait either. */
  submit(task: () => Promise<void>): boolean {
    if (this.running < this.maxRunning) {
      this.start(task);
      return true;
    }
    if (this.waiting.length >= this.maxWaiting) return false;
    this.waiting.push(task);
    return true;
  }

  private start(task: () => Promise<void>): void {
    this.running++;
    void task().catch(() => {}).finally(() => {
      this.running--;
      const next = this.waiting.shift();
      if (next) this.start(next);
    });
  }
}
