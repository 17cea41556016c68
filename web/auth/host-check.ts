/**
 * The Host header check against DNS rebinding: a page in a browser at
 * evil.example whose name is made to resolve to this server sends
 * `Host: evil.example`, and is refused with 421 Misdirected Request
 * (RFC 9110 §15.5.20). Served names are the configured public names (any
 * port unless one is given) and, at the listening port, the listen address,
 * localhost, 127.0.0.1 and [::1].
 */

/** A name as it appears in a Host header: IPv6 in brackets, lower case. */
function hostForm(name: string): string {
  const n = name.trim().toLowerCase();
  // Two colons or more: an IPv6 address, bracketed as in a URL (RFC 3986 §3.2.2).
  return (n.match(/:/g)?.length ?? 0) > 1 && !n.startsWith('[') ? `[${n}]` : n;
}

/** Splits "name[:port]" (a DNS name in A-labels, an IPv4 address, or a bracketed IPv6 address); undefined when malformed. */
function splitHost(value: string): { name: string; port: string | undefined } | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  return m ? { name: m[1]!.toLowerCase(), port: m[2] } : undefined;
}

export class HostCheck {
  /** name → the port it must carry, or null for any. */
  private readonly allowed = new Map<string, Set<string | null>>();

  constructor(opts: { listenHost: string; port: number; publicNames?: readonly string[] }) {
    const add = (name: string, port: string | null) => {
      const set = this.allowed.get(name) ?? new Set();
      set.add(port);
      this.allowed.set(name, set);
    };
    for (const name of [opts.listenHost, 'localhost', '127.0.0.1', '::1']) add(hostForm(name), String(opts.port));
    for (const entry of opts.publicNames ?? []) {
      const h = splitHost(hostForm(entry));
      if (!h) throw new RangeError(`--web-public-name ${JSON.stringify(entry)} is not a host name`);
      add(h.name, h.port ?? null);
    }
  }

  /** Whether a request's Host header names this server. */
  allows(header: string | undefined): boolean {
    if (!header) return false;
    const h = splitHost(header);
    if (!h) return false;
    const ports = this.allowed.get(h.name.replace(/\.$/, ''));
    if (!ports) return false;
    return ports.has(null) || (h.port !== undefined && ports.has(h.port));
  }
}
