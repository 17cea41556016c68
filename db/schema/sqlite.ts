/**
 * SQLite schema, column for column the same as mysql.ts (test/db/schema-parity
 * keeps them in step). Times are TEXT "YYYY-MM-DD HH:MM:SS.sss" in UTC, which
 * sorts and compares like MySQL's DATETIME; booleans are 0/1 integers.
 */
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { pcrColumns } from './columns.js';

const id = () => integer('id').primaryKey({ autoIncrement: true });
const flag = (name: string) => integer(name, { mode: 'boolean' });

export const machines = sqliteTable(
  'machines',
  {
    id: id(),
    hostname: text('hostname').notNull(),
    tpmvendor: text('tpmvendor').notNull(),
    challenge: text('challenge'),
    ekcertificatepem: text('ekcertificatepem').notNull(),
    ekcertificatetext: text('ekcertificatetext').notNull(),
    attestpub: text('attestpub').notNull(),
    akcertificatepem: text('akcertificatepem'),
    akcertificatetext: text('akcertificatetext'),
    enrolled: text('enrolled'),
    boottime: text('boottime'),
    imaevents: integer('imaevents'),
    imapcr: text('imapcr'),
    ...pcrColumns((name) => text(name)),
    challengeExpires: text('challenge_expires'),
    ekFingerprint: text('ek_fingerprint').notNull(),
    ekAlg: text('ek_alg').notNull(),
    akName: text('ak_name').notNull(),
    akAlg: text('ak_alg').notNull(),
    pendingAttestpub: text('pending_attestpub'),
    pendingAkName: text('pending_ak_name'),
    pendingAkAlg: text('pending_ak_alg'),
    imapcrSha1: text('imapcr_sha1'),
    resetCount: integer('reset_count'),
    restartCount: integer('restart_count'),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
    pendingEkcertificatepem: text('pending_ekcertificatepem'),
    pendingTpmvendor: text('pending_tpmvendor'),
    // One EK, one enrolled hostname, as in mysql.ts. VIRTUAL: SQLite adds no STORED column to an existing table.
    enrolledEkFingerprint: text('enrolled_ek_fingerprint').generatedAlwaysAs(
      sql`(case when "enrolled" is null then null else rtrim("ek_fingerprint") end)`,
      { mode: 'virtual' },
    ),
    policyViolations: integer('policy_violations'),
  },
  (t) => [
    uniqueIndex('machines_hostname_uq').on(t.hostname),
    index('machines_ek_fingerprint_idx').on(t.ekFingerprint),
    uniqueIndex('machines_enrolled_ek_uq').on(t.enrolledEkFingerprint),
  ],
);

export const attestlog = sqliteTable(
  'attestlog',
  {
    id: id(),
    userid: text('userid').notNull(),
    hostname: text('hostname').notNull(),
    boottime: text('boottime'),
    timestamp: text('timestamp').notNull(),
    nonce: text('nonce').notNull(),
    pcrselect: text('pcrselect').notNull(),
    quote: text('quote'),
    ...pcrColumns((name) => text(name)),
    pcrschanged: flag('pcrschanged'),
    pcrinvalid: flag('pcrinvalid'),
    quoteverified: flag('quoteverified'),
    logverified: flag('logverified'),
    logentries: integer('logentries'),
    imaevents: integer('imaevents'),
    imaver: flag('imaver'),
    imasigver: flag('imasigver'),
    badimalog: flag('badimalog'),
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    nonceExpires: text('nonce_expires').notNull(),
    biosentry: integer('biosentry').notNull(),
    imaentry: integer('imaentry').notNull(),
    newBoot: flag('new_boot').notNull(),
    quoted: text('quoted'),
    resetCount: integer('reset_count'),
    restartCount: integer('restart_count'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    /** The verdict's one-sentence diagnosis, for lists. */
    diagnosis: text('diagnosis'),
    /** The verdict as JSON: every check, the diagnosis, the replayed PCRs of a refused quote. */
    verdict: text('verdict'),
    policyViolations: integer('policy_violations'),
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

export const bioslog = sqliteTable(
  'bioslog',
  {
    id: id(),
    hostname: text('hostname').notNull(),
    timestamp: text('timestamp').notNull(),
    entrynum: integer('entrynum').notNull(),
    biosEntry: text('bios_entry').notNull(),
    pcrindex: integer('pcrindex').notNull(),
    pcrsha1: text('pcrsha1'),
    pcrsha256: text('pcrsha256'),
    eventtype: text('eventtype').notNull(),
    event: text('event').notNull(),
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    attestationId: integer('attestation_id')
      .notNull()
      .references(() => attestlog.id, { onDelete: 'cascade' }),
    /** Evidence of a refused quote, kept apart from the accepted chain. */
    refused: flag('refused').notNull().default(false),
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

export const imalog = sqliteTable(
  'imalog',
  {
    id: id(),
    hostname: text('hostname').notNull(),
    boottime: text('boottime'),
    timestamp: text('timestamp').notNull(),
    entrynum: integer('entrynum').notNull(),
    imaEntry: text('ima_entry').notNull(),
    filename: text('filename').notNull(),
    badevent: flag('badevent').notNull(),
    nosig: flag('nosig').notNull(),
    nokey: flag('nokey').notNull(),
    badsig: flag('badsig').notNull(),
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    attestationId: integer('attestation_id')
      .notNull()
      .references(() => attestlog.id, { onDelete: 'cascade' }),
    template: text('template').notNull(),
    filehash: text('filehash'),
    /** Evidence of a refused quote, kept apart from the accepted chain. */
    refused: flag('refused').notNull().default(false),
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

export const web_users = sqliteTable(
  'web_users',
  {
    id: id(),
    name: text('name').notNull(),
    role: text('role').notNull(),
    passwordHash: text('password_hash').notNull(),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [uniqueIndex('web_users_name_uq').on(t.name)],
);

export const web_sessions = sqliteTable(
  'web_sessions',
  {
    id: id(),
    tokenHash: text('token_hash').notNull(),
    userId: integer('user_id')
      .notNull()
      .references(() => web_users.id, { onDelete: 'cascade' }),
    createdAt: text('created_at').notNull(),
    expiresAt: text('expires_at').notNull(),
  },
  (t) => [uniqueIndex('web_sessions_token_uq').on(t.tokenHash), index('web_sessions_user_idx').on(t.userId), index('web_sessions_expires_idx').on(t.expiresAt)],
);

export const api_tokens = sqliteTable(
  'api_tokens',
  {
    id: id(),
    name: text('name').notNull(),
    role: text('role').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: text('created_at').notNull(),
    revokedAt: text('revoked_at'),
  },
  (t) => [uniqueIndex('api_tokens_name_uq').on(t.name), uniqueIndex('api_tokens_token_uq').on(t.tokenHash)],
);

/**
 * Security events: requests that are no host's evidence (a quote whose
 * signature does not verify with the enrolled AK). Kept apart from the
 * hosts' reports so a forger can neither add to nor change them;
 * server/security-events.ts rate-limits and caps them.
 */
export const security_events = sqliteTable(
  'security_events',
  {
    id: id(),
    timestamp: text('timestamp').notNull(),
    kind: text('kind').notNull(),
    /** The hostname the request named (untrusted). */
    hostname: text('hostname'),
    detail: text('detail').notNull(),
  },
  (t) => [index('security_events_kind_idx').on(t.kind, t.id)],
);

/** Alerts waiting for or done with delivery: one row per alert and sink, written in the transaction that raised it. */
export const alert_outbox = sqliteTable(
  'alert_outbox',
  {
    id: id(),
    alertId: text('alert_id').notNull(),
    sink: text('sink').notNull(),
    type: text('type').notNull(),
    hostname: text('hostname'),
    body: text('body').notNull(),
    createdAt: text('created_at').notNull(),
    state: text('state').notNull(),
    attempts: integer('attempts').notNull(),
    nextAttemptAt: text('next_attempt_at').notNull(),
    claimToken: text('claim_token'),
    lastError: text('last_error'),
    deliveredAt: text('delivered_at'),
  },
  (t) => [uniqueIndex('alert_outbox_alert_sink_uq').on(t.alertId, t.sink), index('alert_outbox_due_idx').on(t.state, t.nextAttemptAt)],
);

/** Reference values: IMA runtime policies (kind ima) and measured-boot PCR values (kind pcr). */
export const policies = sqliteTable(
  'policies',
  {
    id: id(),
    name: text('name').notNull(),
    kind: text('kind').notNull(),
    body: text('body').notNull(),
    isDefault: flag('is_default').notNull(),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [uniqueIndex('policies_name_uq').on(t.name)],
);

/** Which policy of each kind judges a hostname (assigned before or after it enrolls). */
export const policy_assignments = sqliteTable(
  'policy_assignments',
  {
    id: id(),
    hostname: text('hostname').notNull(),
    kind: text('kind').notNull(),
    policyId: integer('policy_id')
      .notNull()
      .references(() => policies.id, { onDelete: 'cascade' }),
    createdAt: text('created_at').notNull(),
  },
  (t) => [uniqueIndex('policy_assignments_host_kind_uq').on(t.hostname, t.kind), index('policy_assignments_policy_idx').on(t.policyId)],
);
