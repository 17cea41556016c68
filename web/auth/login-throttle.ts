/**
 * Failed-login counting per client address and per user name (OWASP
 * Authentication Cheat Sheet, "Protect against automated attacks"): after
 * `maxFailures` failures inside `windowMs`, that address or that name is
 * refused until the window ends, without the password being checked. Counts
 * live in memory and are bounded in number, so a flood of invented names
 * cannot grow them without limit.
 */

export interface LoginLimits {
  /** Failures one address may make per window. Default 20. */
  perAddress: number;
  /** Failures one user name may receive per window, from anywhere. Default 5. */
  perUser: number;
  /** Default 15 minutes. */
  windowMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perAddress: 20, perUser: 5, windowMs: 15 * 60_000 };

/** Most addresses and names tracked at once; the oldest window is forgotten first. */
const MAX_TRACKED = 10_000;

interface Window {
  failures: number;
  endsAt: number;
}

class FailureCounter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may now. */
  blockedFor(key: string, now: number): number {
    const w = this.windows.get(key);
    if (!w || w.endsAt <= now) return 0;
    return w.failures >= this.limit ? w.endsAt - now : 0;
  }

  fail(key: string, now: number): void {
    let w = this.windows.get(key);
    if (!w || w.endsAt <= now) {
      this.windows.delete(key);
      if (this.windows.size >= MAX_TRACKED) this.windows.delete(this.windows.keys().next().value!);
      w = { failures: 0, endsAt: now + this.windowMs };
      this.windows.set(key, w);
    }
    w.failures += 1;
  }

  forget(key: string): void {
    this.windows.delete(key);
  }
}

export class LoginThrottle {
  private readonly addresses: FailureCounter;
  private readonly users: FailureCounter;

  constructor(
    limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
    private readonly clock: () => number = Date.now,
  ) {
    this.addresses = new FailureCounter(limits.perAddress, limits.windowMs);
    this.users = new FailureCounter(limits.perUser, limits.windowMs);
  }

  /** Milliseconds until this address may try this user again; 0 when it may now. */
  blockedFor(address: string, user: string): number {
    const now = this.clock();
    return Math.max(this.addresses.blockedFor(address, now), this.users.blockedFor(user, now));
  }

  failed(address: string, user: string): void {
    const now = this.clock();
    this.addresses.fail(address, now);
    this.users.fail(user, now);
  }

  /** A correct password clears the user's count (the address keeps its own). */
  succeeded(user: string): void {
    this.users.forget(user);
  }
}
