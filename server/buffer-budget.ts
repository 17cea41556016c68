/**
 * The bound on memory: bytes of request frames held across all connections
 * (`--max-buffered-bytes`). A frame larger than SMALL_FRAME_BYTES reserves
 * its declared length when its header arrives — an account, not an
 * allocation: the body is kept as the chunks that arrive. A reservation that
 * does not fit waits, first come first served, with its socket paused so the
 * kernel's flow control holds the sender; once granted, the frame can always
 * complete, so reservations never wait on each other. Small frames (every
 * request but a quote with long logs) never wait.
 */
export const SMALL_FRAME_BYTES = 64 * 1024;

export interface Reservation {
  readonly bytes: number;
  /** Gives the bytes back (or leaves the queue); idempotent. */
  release(): void;
}

interface Waiter {
  bytes: number;
  grant: () => void;
  cancelled: boolean;
}

export class BufferBudget {
  private reserved = 0;
  private peak = 0;
  private held = 0;
  private peakHeld = 0;
  private readonly queue: Waiter[] = [];

  constructor(readonly maxBytes: number) {}

  /** Bytes reserved by large frames now, and the most ever. */
  get reservedBytes(): number {
    return this.reserved;
  }
  get peakReservedBytes(): number {
    return this.peak;
  }
  /** Bytes of request data held by connections now (any frame size), and the most ever. */
  get heldBytes(): number {
    return this.held;
  }
  get peakHeldBytes(): number {
    return this.peakHeld;
  }

  /** Counts bytes a connection holds (negative when it lets them go). */
  hold(bytes: number): void {
    this.held += bytes;
    if (this.held > this.peakHeld) this.peakHeld = this.held;
  }

  /**
   * Reserves `bytes`: at once when they fit and nobody waits (immediate),
   * else `granted` runs later, when earlier reservations are released.
   */
  reserve(bytes: number, granted: () => void): { reservation: Reservation; immediate: boolean } {
    let state: 'waiting' | 'held' | 'released' = 'waiting';
    const waiter: Waiter = {
      bytes,
      cancelled: false,
      grant: () => {
        state = 'held';
        this.take(bytes);
        granted();
      },
    };
    const reservation: Reservation = {
      bytes,
      release: () => {
        if (state === 'held') {
          this.reserved -= bytes;
          this.grantWaiting();
        } else if (state === 'waiting') {
          waiter.cancelled = true;
        }
        state = 'released';
      },
    };
    if (this.queue.length === 0 && this.fits(bytes)) {
      state = 'held';
      this.take(bytes);
      return { reservation, immediate: true };
    }
    this.queue.push(waiter);
    return { reservation, immediate: false };
  }

  private fits(bytes: number): boolean {
    return this.reserved + bytes <= this.maxBytes;
  }

  private take(bytes: number): void {
    this.reserved += bytes;
    if (this.reserved > this.peak) this.peak = this.reserved;
  }

  private grantWaiting(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if (head.cancelled) {
        this.queue.shift();
        continue;
      }
      if (!this.fits(head.bytes)) return;
      this.queue.shift();
      head.grant();
    }
  }
}
