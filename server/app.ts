/**
 * Starting acs-server: loads the EK trust anchors, privacy CA and IMA keys,
 * opens the store (renaming stored hostnames to the protocol's form where
 * that is unambiguous), starts alerting and listens; a database failure is
 * answered with its 8000004x wire code.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { auditHostnames, describeHostnameReport } from '../db/hostname-audit.js';
import { openStore } from '../db/open.js';
import { StoreError } from '../db/store.js';
import type { SqlStore } from '../db/sql-store.js';
import type { SqlDriver } from '../db/driver.js';
import { AcsError } from '../shared/protocol/errors.js';
import { defaultAttestationPolicy } from './attestation-policy.js';
import type { ServerContext } from './context.js';
import { enrollCert, enrollRequest } from './enrollment.js';
import { startListener, type Handlers, type Listener } from './listener.js';
import { issueNonce } from './nonce.js';
import { RememberedAks } from './remembered-aks.js';
import { SecurityEvents } from './security-events.js';
import { PrivacyCa } from './privacy-ca.js';
import { verifyQuote } from './quote.js';
import { TrustStore } from './trust-store.js';
import type { ServerConfig } from './config.js';
import { ImaKeyring } from '../shared/eventlog/ima/signature.js';
import { Notifier } from './alerts/notifier.js';
import type { DeliveryTiming } from './alerts/delivery-worker.js';
import { PolicyCache } from './policy/policy-cache.js';

/** The vendor EK roots shipped in certificates/, found from src and dist alike. */
export const VENDOR_ROOTS_DIR = fileURLToPath(new URL('../../certificates/tpm-vendors/', import.meta.url)).replace(
  /\/dist\/certificates\//,
  '/certificates/',
);

export interface ServerOptions {
  /** From resolveServerConfig or configFromArgv (server/config.ts). */
  config: ServerConfig;
  /** An open store to use instead of opening `config.db`; the caller closes it. */
  store?: SqlStore;
  /** Leave out the shipped vendor roots (tests that need an exact trust store). */
  noVendorRoots?: boolean;
  /** Alert delivery timing beyond --notify-timeout (tests retry faster). */
  alertTiming?: Partial<DeliveryTiming>;
  logger: Logger;
  now?: () => Date;
}

export interface RunningServer {
  port: number;
  context: ServerContext;
  /** The store's SQL driver, for the web UI's queries. */
  driver: SqlDriver;
  listener: Listener;
  close(): Promise<void>;
}

/**
 * Rows written before the hostname rule: renamed to their normal form where
 * that is unambiguous, reported where it is not (db/hostname-audit.ts).
 */
async function auditStoredHostnames(driver: SqlDriver, logger: Logger): Promise<void> {
  const report = await auditHostnames(driver, true);
  const lines = describeHostnameReport(report);
  if (lines.length === 0) return;
  const unresolved = report.collisions.length + report.invalid.length;
  const message = unresolved ? 'stored hostnames need the operator: see "acs-server migrate" and the README' : 'stored hostnames renamed to their normal form';
  logger[unresolved ? 'warn' : 'info']({ hostnames: lines }, message);
}

/** Opens the store, loads trust and CA, and listens. The caller owns close(). */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { config } = opts;
  const rootDirs = [...(opts.noVendorRoots ? [] : [VENDOR_ROOTS_DIR]), ...config.roots];
  const trust = await TrustStore.load(rootDirs);
  const ca = await PrivacyCa.load(config.caDir);
  const imaKeys = await ImaKeyring.fromFiles(config.imaKeyFiles);
  const store = opts.store ?? (await openStore(config.db, process.env, { create: true }));
  await auditStoredHostnames(store.driver, opts.logger);
  const now = opts.now ?? (() => new Date());
  const notifier = await Notifier.create(store, store.driver, config, opts.alertTiming ?? {}, opts.logger, now).catch(async (e) => {
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
    allowReenroll: config.allowReenroll,
    challengeTtlMs: config.challengeTtlMs,
    nonceTtlMs: config.nonceTtlMs,
    keepRefused: config.keepRefused,
    securityEvents: new SecurityEvents(store, now, notifier),
    notifier,
    policies: new PolicyCache(),
    staleAfterMs: config.staleAfterMs,
    now,
  };
  const handlers: Handlers = {
    enrollrequest: (req) => withStoreErrors(enrollRequest(req, context)),
    enrollcert: (req) => withStoreErrors(enrollCert(req, context)),
    nonce: (req) => withStoreErrors(issueNonce(req, context)),
    quote: (req, rc) => withStoreErrors(verifyQuote(req, rc.raw, context, rc.log)),
  };
  const tls = config.tlsPort === undefined
    ? undefined
    : { port: config.tlsPort, cert: await readFile(config.tlsCert!), key: await readFile(config.tlsKey!) };
  const listener = await startListener({ config, handlers, logger: opts.logger, tls });
  notifier.start();
  opts.logger.info({ port: listener.port, tlsPort: listener.tlsPort, trustedCas: trust.size, db: store.dialect, alertSinks: notifier.sinkNames }, 'acs-server ready');
  return {
    port: listener.port,
    context,
    driver: store.driver,
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
