/**
 * MySQL/MariaDB schema: IBM ACS's dbinit.sql tables and columns (same names,
 * same order), followed by our columns in snake_case. Times are DATETIME(3)
 * in UTC; the host-reported boottime stays a plain DATETIME as IBM has it.
 * Property names are the store's row keys: db/rows.ts derives each table's
 * row codec from them, so a column is named here and nowhere else.
 * sqlite.ts mirrors this file column for column (test/db/schema-parity).
 */
import { sql } from 'drizzle-orm';
import { boolean, char, datetime, index, int, mediumtext, mysqlTable, text, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import { pcrColumns } from './columns.js';
import type { OutboxState } from '../alert-outbox.js';
import type { PolicyKind } from '../policy-store.js';

const id = () => int('id', { unsigned: true }).autoincrement().primaryKey();
const time = (name: string) => datetime(name, { mode: 'string', fsp: 3 });
const boottime = () => datetime('boottime', { mode: 'string' });
const hex64 = (name: string) => char(name, { length: 64 });
const count = (name: string) => int(name, { unsigned: true });

export const machines = mysqlTable(
  'machines',
  {
    id: id(),
    hostname: varchar('hostname', { length: 255 }).notNull(),
    tpmvendor: varchar('tpmvendor', { length: 64 }).notNull(),
    challenge: varchar('challenge', { length: 128 }),
    ekcertificatepem: text('ekcertificatepem').notNull(),
    ekcertificatetext: mediumtext('ekcertificatetext').notNull(),
    attestpub: text('attestpub').notNull(),
    akcertificatepem: text('akcertificatepem'),
    akcertificatetext: mediumtext('akcertificatetext'),
    enrolled: time('enrolled'),
    boottime: boottime(),
    imaevents: count('imaevents'),
    imapcr: hex64('imapcr'),
    ...pcrColumns(hex64),
    challengeExpires: time('challenge_expires'),
    ekFingerprint: hex64('ek_fingerprint').notNull(),
    ekAlg: varchar('ek_alg', { length: 32 }).notNull(),
    akName: varchar('ak_name', { length: 200 }).notNull(),
    akAlg: varchar('ak_alg', { length: 16 }).notNull(),
    pendingAttestpub: text('pending_attestpub'),
    pendingAkName: varchar('pending_ak_name', { length: 200 }),
    pendingAkAlg: varchar('pending_ak_alg', { length: 16 }),
    imapcrSha1: hex64('imapcr_sha1'),
    resetCount: count('reset_count'),
    restartCount: count('restart_count'),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
    pendingEkcertificatepem: text('pending_ekcertificatepem'),
    pendingTpmvendor: varchar('pending_tpmvendor', { length: 64 }),
    // One EK, one enrolled hostname (DESIGN.md "Who may do what"): the EK of an
    // enrolled row, NULL otherwise, under a unique index. MariaDB has no
    // partial indexes; a unique index admits any number of NULLs. rtrim: MariaDB
    // refuses a CHAR column's raw value here (it depends on PAD_CHAR_TO_FULL_LENGTH).
    enrolledEkFingerprint: hex64('enrolled_ek_fingerprint').generatedAlwaysAs(
      sql`(case when \`enrolled\` is null then null else rtrim(\`ek_fingerprint\`) end)`,
      { mode: 'stored' },
    ),
    policyViolations: count('policy_violations'),
  },
  (t) => [
    uniqueIndex('machines_hostname_uq').on(t.hostname),
    index('machines_ek_fingerprint_idx').on(t.ekFingerprint),
    uniqueIndex('machines_enrolled_ek_uq').on(t.enrolledEkFingerprint),
  ],
);

export const attestlog = mysqlTable(
  'attestlog',
  {
    id: id(),
    userid: varchar('userid', { length: 255 }).notNull(),
    hostname: varchar('hostname', { length: 255 }).notNull(),
    boottime: boottime(),
    timestamp: time('timestamp').notNull(),
    nonce: char('nonce', { length: 64 }).notNull(),
    pcrselect: text('pcrselect').notNull(),
    quote: mediumtext('quote'),
    ...pcrColumns(hex64),
    pcrschanged: boolean('pcrschanged'),
    pcrinvalid: boolean('pcrinvalid'),
    quoteverified: boolean('quoteverified'),
    logverified: boolean('logverified'),
    logentries: count('logentries'),
    imaevents: count('imaevents'),
    imaver: boolean('imaver'),
    imasigver: boolean('imasigver'),
    badimalog: boolean('badimalog'),
    machineId: int('machine_id', { unsigned: true })
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    nonceExpires: time('nonce_expires').notNull(),
    biosentry: int('biosentry').notNull(),
    imaentry: int('imaentry').notNull(),
    newBoot: boolean('new_boot').notNull(),
    quoted: time('quoted'),
    resetCount: count('reset_count'),
    restartCount: count('restart_count'),
    errorCode: char('error_code', { length: 8 }),
    errorMessage: text('error_message'),
    /** The verdict's one-sentence diagnosis, for lists. */
    diagnosis: text('diagnosis'),
    /** The verdict as JSON: every check, the diagnosis, the replayed PCRs of a refused quote. */
    verdict: mediumtext('verdict'),
    policyViolations: count('policy_violations'),
  },
  (t) => [
    uniqueIndex('attestlog_nonce_uq').on(t.nonce),
    index('attestlog_machine_idx').on(t.machineId, t.id),
    index('attestlog_hostname_idx').on(t.hostname, t.id),
    index('attestlog_error_idx').on(t.errorCode, t.id),
    index('attestlog_pcrinvalid_idx').on(t.pcrinvalid, t.id),
    index('attestlog_pcrschanged_idx').on(t.pcrschanged, t.id),
    // A machine's pending nonces, newest first, without reading its answered ones (server/nonce.ts retires beyond a cap).
    index('attestlog_pending_idx').on(t.machineId, t.quoted, t.id),
  ],
);

export const bioslog = mysqlTable(
  'bioslog',
  {
    id: id(),
    hostname: varchar('hostname', { length: 255 }).notNull(),
    timestamp: time('timestamp').notNull(),
    entrynum: count('entrynum').notNull(),
    biosEntry: mediumtext('bios_entry').notNull(),
    pcrindex: count('pcrindex').notNull(),
    pcrsha1: hex64('pcrsha1'),
    pcrsha256: hex64('pcrsha256'),
    eventtype: varchar('eventtype', { length: 64 }).notNull(),
    event: mediumtext('event').notNull(),
    machineId: int('machine_id', { unsigned: true })
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    attestationId: int('attestation_id', { unsigned: true })
      .notNull()
      .references(() => attestlog.id, { onDelete: 'cascade' }),
    /** Evidence of a refused quote, kept apart from the accepted chain. */
    refused: boolean('refused').notNull().default(false),
  },
  (t) => [
    index('bioslog_attestation_idx').on(t.attestationId, t.entrynum),
    // The accepted chain's firmware logs (refused = 0) per machine, by attestation.
    index('bioslog_machine_idx').on(t.machineId, t.refused, t.attestationId),
    // Fleet search by event digest (a bootloader's hash, a firmware volume's).
    index('bioslog_sha256_idx').on(t.pcrsha256, t.machineId, t.id),
    index('bioslog_sha1_idx').on(t.pcrsha1, t.machineId, t.id),
  ],
);

export const imalog = mysqlTable(
  'imalog',
  {
    id: id(),
    hostname: varchar('hostname', { length: 255 }).notNull(),
    boottime: boottime(),
    timestamp: time('timestamp').notNull(),
    entrynum: count('entrynum').notNull(),
    imaEntry: mediumtext('ima_entry').notNull(),
    filename: text('filename').notNull(),
    badevent: boolean('badevent').notNull(),
    nosig: boolean('nosig').notNull(),
    nokey: boolean('nokey').notNull(),
    badsig: boolean('badsig').notNull(),
    machineId: int('machine_id', { unsigned: true })
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    attestationId: int('attestation_id', { unsigned: true })
      .notNull()
      .references(() => attestlog.id, { onDelete: 'cascade' }),
    template: varchar('template', { length: 64 }).notNull(),
    filehash: varchar('filehash', { length: 160 }),
    /** Evidence of a refused quote, kept apart from the accepted chain. */
    refused: boolean('refused').notNull().default(false),
  },
  (t) => [
    index('imalog_attestation_idx').on(t.attestationId, t.entrynum),
    // A boot's log in (entrynum, id) order, the IMA page's keyset; the status flags and time ride along so
    // status filters skip rows from the index alone and the per-boot counts (imaBoots) never read a row.
    index('imalog_boot_entry_idx').on(t.machineId, t.boottime, t.refused, t.entrynum, t.id, t.badevent, t.nosig, t.nokey, t.badsig, t.timestamp),
    // Fleet search: every entry of one file digest, or of one path, machine by machine in (machine_id, id) order.
    // The path index carries the digest so "this path with another digest" and its machine count read no rows;
    // the digest index carries the time received, so a digest search bounded by since/until reads none either.
    index('imalog_filehash_idx').on(t.filehash, t.machineId, t.id, t.timestamp),
    index('imalog_path_idx').on(t.filename, t.machineId, t.id, t.filehash),
  ],
);

/** People who may read the web UI (viewer) or also change its settings (admin); passwords as scrypt hashes. */
export const web_users = mysqlTable(
  'web_users',
  {
    id: id(),
    name: varchar('name', { length: 64 }).notNull(),
    role: varchar('role', { length: 16 }).notNull(),
    passwordHash: varchar('password_hash', { length: 255 }).notNull(),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [uniqueIndex('web_users_name_uq').on(t.name)],
);

/** Web login sessions: only the SHA-256 of the cookie's secret is stored. */
export const web_sessions = mysqlTable(
  'web_sessions',
  {
    id: id(),
    tokenHash: hex64('token_hash').notNull(),
    userId: int('user_id', { unsigned: true })
      .notNull()
      .references(() => web_users.id, { onDelete: 'cascade' }),
    createdAt: time('created_at').notNull(),
    expiresAt: time('expires_at').notNull(),
  },
  (t) => [uniqueIndex('web_sessions_token_uq').on(t.tokenHash), index('web_sessions_user_idx').on(t.userId), index('web_sessions_expires_idx').on(t.expiresAt)],
);

/** Bearer tokens for the JSON API: only their SHA-256 is stored; a revoked token's name stays taken. */
export const api_tokens = mysqlTable(
  'api_tokens',
  {
    id: id(),
    name: varchar('name', { length: 64 }).notNull(),
    role: varchar('role', { length: 16 }).notNull(),
    tokenHash: hex64('token_hash').notNull(),
    createdAt: time('created_at').notNull(),
    revokedAt: time('revoked_at'),
  },
  (t) => [uniqueIndex('api_tokens_name_uq').on(t.name), uniqueIndex('api_tokens_token_uq').on(t.tokenHash)],
);

/**
 * Security events: requests that are no host's evidence (a quote whose
 * signature does not verify with the enrolled AK). Kept apart from the
 * hosts' reports so a forger can neither add to nor change them;
 * server/security-events.ts rate-limits and caps them.
 */
export const security_events = mysqlTable(
  'security_events',
  {
    id: id(),
    timestamp: time('timestamp').notNull(),
    kind: varchar('kind', { length: 64 }).notNull(),
    /** The hostname the request named (untrusted). */
    hostname: varchar('hostname', { length: 255 }),
    detail: text('detail').notNull(),
  },
  (t) => [index('security_events_kind_idx').on(t.kind, t.id)],
);

/** Alerts waiting for or done with delivery: one row per alert and sink, written in the transaction that raised it. */
export const alert_outbox = mysqlTable(
  'alert_outbox',
  {
    id: id(),
    alertId: char('alert_id', { length: 36 }).notNull(),
    sink: varchar('sink', { length: 255 }).notNull(),
    type: varchar('type', { length: 64 }).notNull(),
    hostname: varchar('hostname', { length: 255 }),
    body: mediumtext('body').notNull(),
    createdAt: time('created_at').notNull(),
    state: varchar('state', { length: 16 }).$type<OutboxState>().notNull(),
    attempts: count('attempts').notNull(),
    nextAttemptAt: time('next_attempt_at').notNull(),
    claimToken: char('claim_token', { length: 36 }),
    lastError: text('last_error'),
    deliveredAt: time('delivered_at'),
  },
  (t) => [uniqueIndex('alert_outbox_alert_sink_uq').on(t.alertId, t.sink), index('alert_outbox_due_idx').on(t.state, t.nextAttemptAt)],
);

/** Reference values: IMA runtime policies (kind ima) and measured-boot PCR values (kind pcr). */
export const policies = mysqlTable(
  'policies',
  {
    id: id(),
    name: varchar('name', { length: 128 }).notNull(),
    kind: varchar('kind', { length: 16 }).$type<PolicyKind>().notNull(),
    body: mediumtext('body').notNull(),
    isDefault: boolean('is_default').notNull(),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [uniqueIndex('policies_name_uq').on(t.name)],
);

/** Which policy of each kind judges a hostname (assigned before or after it enrolls). */
export const policy_assignments = mysqlTable(
  'policy_assignments',
  {
    id: id(),
    hostname: varchar('hostname', { length: 255 }).notNull(),
    kind: varchar('kind', { length: 16 }).notNull(),
    policyId: int('policy_id', { unsigned: true })
      .notNull()
      .references(() => policies.id, { onDelete: 'cascade' }),
    createdAt: time('created_at').notNull(),
  },
  (t) => [uniqueIndex('policy_assignments_host_kind_uq').on(t.hostname, t.kind), index('policy_assignments_policy_idx').on(t.policyId)],
);
