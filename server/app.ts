import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { openStore } from '../db/open.js';
import { StoreError, type Store } from '../db/store.js';
import { AcsError } from '../shared/protocol/errors.js';
import { defaultAttestationPolicy } from './attestation-policy.js';
import type { ServerContext } from './context.js';
import { enrollCert, enrollRequest } from './enrollment.js';
import { startListener, type Handlers, type Listener } from './listener.js';
import { issueNonce } from './nonce.js';
import { RememberedAks } from './remembered-aks.js';
import { PrivacyCa } from './privacy-ca.js';
import { verifyQuote } from './quote.js';
import { TrustStore } from './trust-store.js';
import type { ListenerLimits } from './config.js';
import type { EventLimits } from '../shared/protocol/messages.js';
import { ImaKeyring } from '../shared/eventlog/ima-signature.js';
import { DEFAULT_STALE_AFTER_MS } from '../db/queries.js';
import { Notifier, type AlertOptions } from './alerts/notifier.js';
import { PolicyCache } from './policy/policy-cache.js';

/** The vendor EK roots shipped in certificates/, found from src and dist alike. */
export const VENDOR_ROOTS_DIR = fileURLToPath(new URL('../../certificates/tpm-vendors/', import.meta.url)).replace(
  /\/dist\/certificates\//,
  '/certificates/',
);

export interface ServerOptions {
  port: number;
  host?: string;
  /** mysql://… or sqlite:PATH; undefined: ACS_SQL_* or the SQLite default. */
  db?: string;
  store?: Store;
  /** Extra trusted EK CA directories (`--roots`). */
  roots?: string[];
  /** Leave out the shipped vendor roots (tests that need an exact trust store). */
  noVendorRoots?: boolean;
  caDir: string;
  allowReenroll?: boolean;
  nonceTtlMs?: number;
  challengeTtlMs?: number;
  imaKeyFiles?: string[];
  limits?: Partial<ListenerLimits>;
  events?: Partial<EventLimits>;
  verbose?: boolean;
  /** Sinks and timing of alerts; without it alerts go to the log only. */
  alerts?: Partial<Omit<AlertOptions, 'staleAfterMs'>>;
  /** `--stale-after`: default 24 hours. */
  staleAfterMs?: number;
  logger: Logger;
  now?: () => Date;
}

export interface RunningServer {
  port: number;
  context: ServerContext;
  listener: Listener;
  close(): Promise<void>;
}

const FIVE_MINUTES = 5 * 60 * 1000;

/** Opens the store, loads trust and CA, and listens. The caller owns close(). */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const rootDirs = [...(opts.noVendorRoots ? [] : [VENDOR_ROOTS_DIR]), ...(opts.roots ?? [])];
  const trust = await TrustStore.load(rootDirs);
  const ca = await PrivacyCa.load(opts.caDir);
  const imaKeys = await ImaKeyring.fromFiles(opts.imaKeyFiles ?? []);
  const store = opts.store ?? (await openStore(opts.db, process.env, { create: true }));
  const now = opts.now ?? (() => new Date());
  const staleAfterMs = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const notifier = await Notifier.create(
    store,
    { reportBaseUrl: 'http://127.0.0.1:8080', ...opts.alerts, staleAfterMs },
    opts.logger,
    now,
  ).catch(async (e) => {
    if (!opts.store) await store.close();
    throw e;
  });
  const context: ServerContext = {
    store,
    trust,
    ca,
    policy: defaultAttestationPolicy(imaKeys),
    aks: new RememberedAks(),
    logger: opts.logger,
    allowReenroll: opts.allowReenroll ?? false,
    challengeTtlMs: opts.challengeTtlMs ?? FIVE_MINUTES,
    nonceTtlMs: opts.nonceTtlMs ?? FIVE_MINUTES,
    notifier,
    policies: new PolicyCache(),
    staleAfterMs,
    now,
  };
  const handlers: Handlers = {
    enrollrequest: (req) => withStoreErrors(enrollRequest(req, context)),
    enrollcert: (req) => withStoreErrors(enrollCert(req, context)),
    nonce: (req) => withStoreErrors(issueNonce(req, context)),
    quote: (req, rc) => withStoreErrors(verifyQuote(req, rc.raw, context, rc.log)),
  };
  const listener = await startListener({
    port: opts.port,
    host: opts.host,
    handlers,
    limits: opts.limits,
    events: opts.events,
    logger: opts.logger,
    verbose: opts.verbose,
  });
  notifier.start();
  opts.logger.info({ port: listener.port, trustedCas: trust.size, db: store.dialect, alertSinks: notifier.sinkNames }, 'acs-server ready');
  return {
    port: listener.port,
    context,
    listener,
    async close() {
      await listener.close();
      await notifier.close();
      if (!opts.store) await store.close();
    },
  };
}

/** Database failures travel as their 8000004x code; nothing was committed. */
async function withStoreErrors<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof StoreError) throw new AcsError(e.code, 'database error; nothing was changed', { cause: e });
    throw e;
  }
}
