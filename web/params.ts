/**
 * Typed reading of query-string parameters. An empty value counts as absent
 * (HTML forms submit empty fields); a present but malformed value is a
 * BadRequestError naming the parameter, answered with 400.
 */
import { IMA_STATUSES, MACHINE_STATES, type ImaStatus, type MachineState } from '../db/queries.js';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: 400 | 403 | 404 | 405 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

export class BadRequestError extends HttpError {
  override name = 'BadRequestError';
  constructor(
    message: string,
    /** The query parameter or path segment at fault. */
    readonly param: string,
  ) {
    super(400, message);
  }
}

export class NotFoundError extends HttpError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(404, message);
  }
}

/** Longest value any parameter may carry; hostnames are at most 255 characters in the schema. */
const MAX_PARAM = 1024;
const BOOTTIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
/** The `boot` value naming events stored without a boot time. */
export const NO_BOOTTIME = 'none';

export class Params {
  constructor(private readonly q: URLSearchParams) {}

  string(name: string): string | undefined {
    const all = this.q.getAll(name);
    if (all.length > 1) throw new BadRequestError(`${name} given more than once`, name);
    const v = all[0];
    if (v === undefined || v === '') return undefined;
    if (v.length > MAX_PARAM) throw new BadRequestError(`${name} is too long`, name);
    return v;
  }

  bool(name: string): boolean | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (v === 'true' || v === '1' || v === 'on') return true;
    if (v === 'false' || v === '0') return false;
    throw new BadRequestError(`${name} must be true or false`, name);
  }

  int(name: string, min: number, max: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const n = /^\d{1,15}$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new BadRequestError(`${name} must be an integer ${min}..${max}`, name);
    return n;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) throw new BadRequestError(`${name} must be one of ${allowed.join(', ')}`, name);
    return v as T;
  }

  /** A boot: "YYYY-MM-DD HH:MM:SS", or NO_BOOTTIME for events stored without one (null). */
  boot(name = 'boot'): string | null | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (v === NO_BOOTTIME) return null;
    if (!BOOTTIME.test(v)) throw new BadRequestError(`${name} must be "YYYY-MM-DD HH:MM:SS" or "${NO_BOOTTIME}"`, name);
    return v;
  }

  machineState(): MachineState | undefined {
    return this.oneOf('state', MACHINE_STATES);
  }

  imaStatus(): ImaStatus | undefined {
    return this.oneOf('status', IMA_STATUSES);
  }
}

/** The boot parameter value for a boot time (inverse of Params.boot). */
export function bootParam(boottime: string | null): string {
  return boottime ?? NO_BOOTTIME;
}

/** A numeric path segment (report id). */
export function idSegment(text: string, name: string): number {
  const n = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new BadRequestError(`${name} must be a positive integer`, name);
  return n;
}
