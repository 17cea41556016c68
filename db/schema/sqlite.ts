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
    challenge_expires: text('challenge_expires'),
    ek_fingerprint: text('ek_fingerprint').notNull(),
    ek_alg: text('ek_alg').notNull(),
    ak_name: text('ak_name').notNull(),
    ak_alg: text('ak_alg').notNull(),
    pending_attestpub: text('pending_attestpub'),
    pending_ak_name: text('pending_ak_name'),
    pending_ak_alg: text('pending_ak_alg'),
    imapcr_sha1: text('imapcr_sha1'),
    reset_count: integer('reset_count'),
    restart_count: integer('restart_count'),
    created_at: text('created_at').notNull(),
    updated_at: text('updated_at').notNull(),
    pending_ekcertificatepem: text('pending_ekcertificatepem'),
    pending_tpmvendor: text('pending_tpmvendor'),
    // One EK, one enrolled hostname, as in mysql.ts. VIRTUAL: SQLite adds no STORED column to an existing table.
    enrolled_ek_fingerprint: text('enrolled_ek_fingerprint').generatedAlwaysAs(
      sql`(case when "enrolled" is null then null else rtrim("ek_fingerprint") end)`,
      { mode: 'virtual' },
    ),
    policy_violations: integer('policy_violations'),
  },
  (t) => [
    uniqueIndex('machines_hostname_uq').on(t.hostname),
    index('machines_ek_fingerprint_idx').on(t.ek_fingerprint),
    uniqueIndex('machines_enrolled_ek_uq').on(t.enrolled_ek_fingerprint),
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
    machine_id: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    nonce_expires: text('nonce_expires').notNull(),
    biosentry: integer('biosentry').notNull(),
    imaentry: integer('imaentry').notNull(),
    new_boot: flag('new_boot').notNull(),
    quoted: text('quoted'),
    reset_count: integer('reset_count'),
    restart_count: integer('restart_count'),
    error_code: text('error_code'),
    error_message: text('error_message'),
    /** The verdict's one-sentence diagnosis, for lists. */
    diagnosis: text('diagnosis'),
    /** The verdict as JSON: every check, the diagnosis, the replayed PCRs of a refused quote. */
    verdict: text('verdict'),
    policy_violations: integer('policy_violations'),
  },
  (t) => [
    uniqueIndex('attestlog_nonce_uq').on(t.nonce),
    index('attestlog_machine_idx').on(t.machine_id, t.id),
    index('attestlog_hostname_idx').on(t.hostname, t.id),
    index('attestlog_error_idx').on(t.error_code, t.id),
    index('attestlog_pcrinvalid_idx').on(t.pcrinvalid, t.id),
    index('attestlog_pcrschanged_idx').on(t.pcrschanged, t.id),
    // A machine's pending nonces, newest first, without reading its answered ones (server/nonce.ts retires beyond a cap).
    index('attestlog_pending_idx').on(t.machine_id, t.quoted, t.id),
  ],
);

export const bioslog = sqliteTable(
  'bioslog',
  {
    id: id(),
    hostname: text('hostname').notNull(),
    timestamp: text('timestamp').notNull(),
    entrynum: integer('entrynum').notNull(),
    bios_entry: text('bios_entry').notNull(),
    pcrindex: integer('pcrindex').notNull(),
    pcrsha1: text('pcrsha1'),
    pcrsha256: text('pcrsha256'),
    eventtype: text('eventtype').notNull(),
    event: text('event').notNull(),
    machine_id: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    attestation_id: integer('attestation_id')
      .notNull()
      .references(() => attestlog.id, { onDelete: 'cascade' }),
    /** Evidence of a refused quote, kept apart from the accepted chain. */
    refused: flag('refused').notNull().default(false),
  },
  (t) => [
    index('bioslog_attestation_idx').on(t.attestation_id, t.entrynum),
    // The accepted chain's firmware logs (refused = 0) per machine, by attestation.
    index('bioslog_machine_idx').on(t.machine_id, t.refused, t.attestation_id),
    // Fleet search by event digest (a bootloader's hash, a firmware volume's).
    index('bioslog_sha256_idx').on(t.pcrsha256, t.machine_id, t.id),
    index('bioslog_sha1_idx').on(t.pcrsha1, t.machine_id, t.id),
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
    ima_entry: text('ima_entry').notNull(),
    filename: text('filename').notNull(),
    badevent: flag('badevent').notNull(),
    nosig: flag('nosig').notNull(),
    nokey: flag('nokey').notNull(),
    badsig: flag('badsig').notNull(),
    machine_id: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    attestation_id: integer('attestation_id')
      .notNull()
      .references(() => attestlog.id, { onDelete: 'cascade' }),
    template: text('template').notNull(),
    filehash: text('filehash'),
    /** Evidence of a refused quote, kept apart from the accepted chain. */
    refused: flag('refused').notNull().default(false),
  },
  (t) => [
    index('imalog_attestation_idx').on(t.attestation_id, t.entrynum),
    // A boot's log in (entrynum, id) order, the IMA page's keyset; the status flags and time ride along so
    // status filters skip rows from the index alone and the per-boot counts (imaBoots) never read a row.
    index('imalog_boot_entry_idx').on(t.machine_id, t.boottime, t.refused, t.entrynum, t.id, t.badevent, t.nosig, t.nokey, t.badsig, t.timestamp),
    // Fleet search: every entry of one file digest, or of one path, machine by machine in (machine_id, id) order.
    // The path index carries the digest so "this path with another digest" and its machine count read no rows;
    // the digest index carries the time received, so a digest search bounded by since/until reads none either.
    index('imalog_filehash_idx').on(t.filehash, t.machine_id, t.id, t.timestamp),
    index('imalog_path_idx').on(t.filename, t.machine_id, t.id, t.filehash),
  ],
);

export const web_users = sqliteTable(
  'web_users',
  {
    id: id(),
    name: text('name').notNull(),
    role: text('role').notNull(),
    password_hash: text('password_hash').notNull(),
    created_at: text('created_at').notNull(),
    updated_at: text('updated_at').notNull(),
  },
  (t) => [uniqueIndex('web_users_name_uq').on(t.name)],
);

export const web_sessions = sqliteTable(
  'web_sessions',
  {
    id: id(),
    token_hash: text('token_hash').notNull(),
    user_id: integer('user_id')
      .notNull()
      .references(() => web_users.id, { onDelete: 'cascade' }),
    created_at: text('created_at').notNull(),
    expires_at: text('expires_at').notNull(),
  },
  (t) => [uniqueIndex('web_sessions_token_uq').on(t.token_hash), index('web_sessions_user_idx').on(t.user_id), index('web_sessions_expires_idx').on(t.expires_at)],
);

export const api_tokens = sqliteTable(
  'api_tokens',
  {
    id: id(),
    name: text('name').notNull(),
    role: text('role').notNull(),
    token_hash: text('token_hash').notNull(),
    created_at: text('created_at').notNull(),
    revoked_at: text('revoked_at'),
  },
  (t) => [uniqueIndex('api_tokens_name_uq').on(t.name), uniqueIndex('api_tokens_token_uq').on(t.token_hash)],
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
    alert_id: text('alert_id').notNull(),
    sink: text('sink').notNull(),
    type: text('type').notNull(),
    hostname: text('hostname'),
    body: text('body').notNull(),
    created_at: text('created_at').notNull(),
    state: text('state').notNull(),
    attempts: integer('attempts').notNull(),
    next_attempt_at: text('next_attempt_at').notNull(),
    claim_token: text('claim_token'),
    last_error: text('last_error'),
    delivered_at: text('delivered_at'),
  },
  (t) => [uniqueIndex('alert_outbox_alert_sink_uq').on(t.alert_id, t.sink), index('alert_outbox_due_idx').on(t.state, t.next_attempt_at)],
);

/** Reference values: IMA runtime policies (kind ima) and measured-boot PCR values (kind pcr). */
export const policies = sqliteTable(
  'policies',
  {
    id: id(),
    name: text('name').notNull(),
    kind: text('kind').notNull(),
    body: text('body').notNull(),
    is_default: flag('is_default').notNull(),
    created_at: text('created_at').notNull(),
    updated_at: text('updated_at').notNull(),
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
    policy_id: integer('policy_id')
      .notNull()
      .references(() => policies.id, { onDelete: 'cascade' }),
    created_at: text('created_at').notNull(),
  },
  (t) => [uniqueIndex('policy_assignments_host_kind_uq').on(t.hostname, t.kind), index('policy_assignments_policy_idx').on(t.policy_id)],
);
