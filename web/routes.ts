/**
 * The route table and its matcher. Paths are split on '/' before each
 * segment is percent-decoded, so an encoded '/' inside a hostname never
 * splits it.
 */
import { apiBiosLog, apiImaLog } from './api/logs.js';
import { apiMachine, apiMachines } from './api/machines.js';
import { apiReport, apiReports } from './api/reports.js';
import { apiReportEvents } from './api/report-events.js';
import { apiSecurityEvents } from './api/security-events.js';
import { accountPage } from './auth/login-pages.js';
import { apiFile, apiSearchFirmware, apiSearchIma } from './api/search.js';
import { compareBootsPage, compareMachinesPage } from './pages/compare.js';
import { searchPage } from './pages/search.js';
import { securityEventsPage } from './pages/security-events.js';
import { tokensPage } from './pages/tokens.js';
import { alertsPage } from './pages/admin-alerts.js';
import { policiesPage, policyPage } from './pages/admin-policies.js';
import type { Handler } from './context.js';
import { firmwarePage } from './pages/firmware.js';
import { imaPage } from './pages/ima.js';
import { certificatePem, machinePage } from './pages/machine.js';
import { machinesPage } from './pages/machines.js';
import { overviewPage } from './pages/overview.js';
import { quoteDownload, reportPage } from './pages/report.js';
import { reportsPage } from './pages/reports.js';
import { favicon, stylesheet } from './static.js';
import { BadRequestError } from './params.js';
import { links } from './urls.js';

/** Methods a route may accept besides GET and HEAD; each one changes state, so it needs the admin role. */
export type StateMethod = 'POST';

export interface RouteAccess {
  /** Methods besides GET and HEAD; a request with one needs the admin role and the form's CSRF token. */
  methods?: readonly StateMethod[];
  /** Reading the route needs the admin role too (user, token and policy administration). */
  admin?: boolean;
  /** Served without login (the stylesheet, the login page). */
  public?: boolean;
}

interface Route extends RouteAccess {
  segments: string[];
  handler: Handler;
}

function route(pattern: string, handler: Handler, access: RouteAccess = {}): Route {
  return { segments: pattern.split('/').filter(Boolean), handler, ...access };
}

export const ROUTES: readonly Route[] = [
  route('/', overviewPage),
  route('/static/style.css', stylesheet, { public: true }),
  route('/favicon.ico', favicon, { public: true }),
  route(links.account(), accountPage),
  route(links.tokens(), tokensPage, { methods: ['POST'], admin: true }),
  route(links.policies(), policiesPage, { admin: true }),
  route('/admin/policies/:name', policyPage, { admin: true }),
  route(links.alerts(), alertsPage, { methods: ['POST'], admin: true }),
  route('/machines', machinesPage),
  route('/machines/:hostname', machinePage),
  route('/machines/:hostname/ek.pem', certificatePem('ek')),
  route('/machines/:hostname/ak.pem', certificatePem('ak')),
  route('/machines/:hostname/bioslog', firmwarePage),
  route('/machines/:hostname/imalog', imaPage),
  route('/machines/:hostname/compare', compareBootsPage),
  route('/search', searchPage),
  route('/compare', compareMachinesPage),
  route('/reports', reportsPage),
  route('/reports/:id', reportPage),
  route('/reports/:id/quote.json', quoteDownload),
  route('/security-events', securityEventsPage, { admin: true }),
  route('/api/machines', apiMachines),
  route('/api/machines/:hostname', apiMachine),
  route('/api/machines/:hostname/bioslog', apiBiosLog),
  route('/api/machines/:hostname/imalog', apiImaLog),
  route('/api/reports', apiReports),
  route('/api/reports/:id', apiReport),
  route('/api/reports/:id/events', apiReportEvents),
  route('/api/security-events', apiSecurityEvents, { admin: true }),
  route('/api/search/ima', apiSearchIma),
  route('/api/search/firmware', apiSearchFirmware),
  route('/api/files', apiFile),
];

export interface RouteMatch {
  handler: Handler;
  params: Record<string, string>;
  access: RouteAccess;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new BadRequestError('malformed percent-encoding in the path', 'path');
  }
}

/** The route for a raw (still encoded) pathname, or undefined. */
export function matchRoute(pathname: string): RouteMatch | undefined {
  const parts = pathname.split('/').filter((p, i, all) => p !== '' || (i > 0 && i < all.length - 1));
  for (const r of ROUTES) {
    if (r.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const want = r.segments[i]!;
      if (want.startsWith(':')) params[want.slice(1)] = decodeSegment(parts[i]!);
      else ok = want === parts[i];
    }
    if (ok) return { handler: r.handler, params, access: { methods: r.methods, admin: r.admin, public: r.public } };
  }
  return undefined;
}
