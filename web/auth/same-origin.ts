/**
 * The origin check of a state-changing request (OWASP CSRF Cheat Sheet,
 * "Verifying origin with standard headers"): a browser names the page that
 * sent a POST in `Origin` (RFC 6454 §7) and, in current browsers, says
 * whether it was cross-site in `Sec-Fetch-Site`. Either one pointing
 * elsewhere refuses the request, whatever cookies it carries.
 */
import type { IncomingMessage } from 'node:http';

export function fromSameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  // No header at all: not a browser form (scripts and curl), which the CSRF token still guards where a session is used.
  if (origin === undefined) return true;
  // "null" is what a page that hides its origin sends; ours never do (Referrer-Policy: same-origin).
  if (origin === 'null') return false;
  try {
    // The host part only: behind a TLS-terminating proxy the scheme the browser saw is not ours.
    return new URL(origin).host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}
