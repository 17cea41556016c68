/**
 * Who may hold a connection. Holding one is cheap, so the listener accepts
 * every connection and bounds how many are held: at most
 * `--max-connections-per-source` from one source and `--max-connections` in
 * all. When a new connection would pass a bound, the OLDEST connection of
 * that source (or of all) that has not yet delivered a whole request is
 * closed to make room. A real client writes its request as soon as it is
 * connected, so it is the newest and is served; sockets parked to exhaust
 * the server are the oldest and go first. Connections whose request is
 * complete (queued or being answered) are never closed for room.
 *
 * A source is an IPv4 address or an IPv6 /64 (one host's usual allocation,
 * RFC 4291 §2.5.4). Behind a load balancer or NAT every client shares the
 * balancer's address: raise the per-source cap to --max-connections there.
 */
import { isIPv6 } from 'node:net';

export interface Admitted {
  readonly source: string;
  /** False once a whole request arrived: no longer closed to make room. */
  readonly evictable: boolean;
  /** Closes the connection to make room; it logs why. */
  evict(reason: string): void;
}

/** The source an address counts against. */
export function sourceOf(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4) return v4[1];
  if (!isIPv6(address)) return address;
  const [head, tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

export class ConnectionTable<C extends Admitted> {
  /** Every held connection, oldest first (a Set keeps insertion order). */
  private readonly all = new Set<C>();
  private readonly bySource = new Map<string, Set<C>>();

  constructor(private readonly maxTotal: number, private readonly maxPerSource: number) {}

  get size(): number {
    return this.all.size;
  }

  connections(): Iterable<C> {
    return this.all;
  }

  /** Holds `conn`, closing older idle connections beyond the caps; false if none could go (then `conn` is not held). */
  admit(conn: C): boolean {
    const mine = this.bySource.get(conn.source) ?? new Set<C>();
    if (mine.size >= this.maxPerSource && !this.evictOldest(mine, `${mine.size} connections from ${conn.source} (limit ${this.maxPerSource})`)) return false;
    if (this.all.size >= this.maxTotal && !this.evictOldest(this.all, `${this.all.size} connections held (limit ${this.maxTotal})`)) return false;
    mine.add(conn);
    this.bySource.set(conn.source, mine);
    this.all.add(conn);
    return true;
  }

  remove(conn: C): void {
    if (!this.all.delete(conn)) return;
    const mine = this.bySource.get(conn.source);
    mine?.delete(conn);
    if (mine?.size === 0) this.bySource.delete(conn.source);
  }

  private evictOldest(among: Set<C>, why: string): boolean {
    for (const c of among) {
      if (!c.evictable) continue;
      this.remove(c);
      c.evict(`closed for a newer connection: ${why}`);
      return true;
    }
    return false;
  }
}
