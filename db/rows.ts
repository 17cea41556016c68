/**
 * Mapping between the store's row types and table columns: which column holds
 * each field, and how values are encoded for binding and decoded from either
 * driver (booleans as 0/1, times as UTC text, PcrBanks as 48 columns).
 */
import { ident, parseTime, sqlValue, type SqlRow, type SqlValue } from './driver.js';
import { getTableConfig } from 'drizzle-orm/mysql-core';
import { PCR_BANK_NAMES, PCR_COUNT, type PcrBankName } from '../shared/tpm/pcr-banks.js';
import { pcrColumn } from './schema/columns.js';
import * as mysqlSchema from './schema/mysql.js';
import { StoreError } from './store.js';
import type { AttestationRow, BiosEventRow, ImaEventRow, IssuedNonce, MachineRow, MachineWithoutCerts, PcrBanks, LastReport, SecurityEventRow, VerifiedPcrs } from './store.js';

export type Kind = 'text' | 'int' | 'bool' | 'time' | 'boottime' | 'pcrs';
export type Field = readonly [key: string, column: string, kind: Kind];

/**
 * Size limits of the text columns, read from the MySQL schema (characters for
 * CHAR/VARCHAR, bytes for TEXT types) and enforced for both dialects, so an
 * oversized value fails the same way in SQLite as in MySQL's strict mode.
 */
const TEXT_BYTES: Record<string, number> = { text: 65_535, mediumtext: 16_777_215 };
const LIMITS = new Map<string, (v: string) => boolean>();
for (const table of [
  mysqlSchema.machines, mysqlSchema.attestlog, mysqlSchema.bioslog, mysqlSchema.imalog, mysqlSchema.security_events,
  mysqlSchema.alert_outbox, mysqlSchema.policies, mysqlSchema.policy_assignments,
]) {
  const config = getTableConfig(table);
  for (const col of config.columns) {
    const { length, textType } = col as { length?: number; textType?: string };
    const key = `${config.name}.${col.name}`;
    if (length !== undefined) LIMITS.set(key, (v) => v.length <= length || [...v].length <= length);
    else if (textType && TEXT_BYTES[textType]) LIMITS.set(key, (v) => Buffer.byteLength(v, 'utf8') <= TEXT_BYTES[textType]!);
  }
}

const BOOTTIME = /^(\d{4})-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const HEX = /^[0-9a-fA-F]{0,64}$/;

function bad(what: string): never {
  throw new StoreError(what, 0x80000041);
}

/** The host's boot time is client data: only a real "YYYY-MM-DD HH:MM:SS" both dialects store alike is accepted. */
function encodeBoottime(v: unknown): SqlValue {
  if (v === null || v === undefined) return null;
  const m = typeof v === 'string' ? BOOTTIME.exec(v) : null;
  const valid = m !== null && Number(m[1]) >= 1000 && new Date(`${m[0].replace(' ', 'T')}Z`).toISOString().slice(0, 19) === m[0].replace(' ', 'T');
  return valid ? m[0] : bad(`boottime ${JSON.stringify(v)} is not "YYYY-MM-DD HH:MM:SS"`);
}

function encodePcrs(v: unknown): SqlValue[] {
  if (v === null || v === undefined) return new Array<SqlValue>(PCR_COUNT * PCR_BANK_NAMES.length).fill(null);
  const banks = v as PcrBanks;
  return PCR_BANK_NAMES.flatMap((bank) => {
    const values = banks[bank];
    if (!Array.isArray(values) || values.length !== PCR_COUNT) bad(`PCR bank ${bank} must hold ${PCR_COUNT} entries`);
    return values.map((pcr) => (pcr === null || (typeof pcr === 'string' && HEX.test(pcr)) ? pcr : bad(`PCR value is not hex`)));
  });
}

/** Column names per bank, built once: decoding runs for every row read. */
const PCR_COLUMNS = Object.fromEntries(PCR_BANK_NAMES.map((bank) => [bank, Array.from({ length: PCR_COUNT }, (_, i) => pcrColumn(i, bank))])) as
  Record<PcrBankName, string[]>;

function decodePcrs(row: SqlRow, prefix: string): PcrBanks | null {
  let any = false;
  const read = (bank: PcrBankName) =>
    PCR_COLUMNS[bank].map((column) => {
      const v = (row[prefix ? prefix + column : column] as string | null) ?? null;
      if (v !== null) any = true;
      return v;
    });
  const banks = { sha256: read('sha256'), sha1: read('sha1') };
  return any ? banks : null;
}

function decode(kind: Kind, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (kind) {
    case 'int':
      return Number(v);
    case 'bool':
      return Number(v) !== 0;
    case 'time':
      return parseTime(v);
    default:
      return String(v);
  }
}

/** Appends one field's bound values to `out`. */
type FieldEncoder = (v: unknown, out: SqlValue[]) => void;

/**
 * The encoder of one field, built once per codec: batch inserts run it for
 * every column of thousands of rows, most of which repeat the same boot time
 * and timestamp, so those remember the last value they checked.
 */
function fieldEncoder(table: string, [, column, kind]: Field): FieldEncoder {
  if (kind === 'pcrs') return (v, out) => { out.push(...encodePcrs(v)); };
  if (kind === 'boottime' || kind === 'time') {
    const encode = kind === 'boottime' ? encodeBoottime : sqlValue;
    let lastKey: unknown = null;
    let lastSql: SqlValue = null;
    return (v, out) => {
      // A Date by its time, not its identity: a Date object can change.
      const key = v instanceof Date ? v.getTime() : v;
      if (key !== lastKey || key === null || key === undefined) {
        lastSql = encode(v);
        lastKey = key;
      }
      out.push(lastSql);
    };
  }
  const fits = LIMITS.get(`${table}.${column}`);
  return (v, out) => {
    const value = sqlValue(v);
    if (fits && typeof value === 'string' && !fits(value)) bad(`${table}.${column} value is too long`);
    out.push(value);
  };
}

function physical(field: Field): string[] {
  const [, column, kind] = field;
  return kind === 'pcrs' ? PCR_BANK_NAMES.flatMap((bank) => Array.from({ length: PCR_COUNT }, (_, i) => pcrColumn(i, bank))) : [column];
}

/** One table's field ↔ column mapping. */
export class RowCodec<T> {
  /** Every physical column, in field order. */
  readonly columns: readonly string[];

  private readonly encoders: readonly FieldEncoder[];

  constructor(
    readonly table: string,
    private readonly fields: readonly Field[],
  ) {
    this.columns = fields.flatMap(physical);
    this.encoders = fields.map((f) => fieldEncoder(table, f));
  }

  /** The SELECT list for this table: `alias`.`col` [AS `prefix+col`]. */
  select(alias = this.table, prefix = ''): string {
    return this.columns.map((c) => `${ident(alias)}.${ident(c)}${prefix ? ` AS ${ident(prefix + c)}` : ''}`).join(', ');
  }

  /** Columns and parameters for the fields present in values (undefined fields are left out), in column order. */
  encode(values: Partial<T>): { columns: string[]; params: SqlValue[] } {
    const columns: string[] = [];
    const params: SqlValue[] = [];
    const record = values as Record<string, unknown>;
    this.fields.forEach((field, i) => {
      if (record[field[0]] === undefined) return;
      columns.push(...physical(field));
      this.encoders[i]!(record[field[0]], params);
    });
    return { columns, params };
  }

  /** Appends a full row's parameters to `out` in `columns` order (batch inserts); missing fields bind NULL. */
  encodeRowInto(values: T, out: SqlValue[]): void {
    const record = values as Record<string, unknown>;
    for (let i = 0; i < this.fields.length; i++) this.encoders[i]!(record[this.fields[i]![0]], out);
  }

  /** The codec of some fields only: a narrower SELECT list for reads that need less than the whole row. */
  pick<K extends keyof T & string>(keys: readonly K[]): RowCodec<Pick<T, K>> {
    return new RowCodec(this.table, this.fields.filter(([key]) => (keys as readonly string[]).includes(key)));
  }

  /** The codec of every field but `keys`. */
  omit<K extends keyof T & string>(keys: readonly K[]): RowCodec<Omit<T, K>> {
    return new RowCodec(this.table, this.fields.filter(([key]) => !(keys as readonly string[]).includes(key)));
  }

  decode(row: SqlRow, prefix = ''): T {
    const out: Record<string, unknown> = {};
    for (const [key, column, kind] of this.fields) {
      out[key] = kind === 'pcrs' ? decodePcrs(row, prefix) : decode(kind, row[prefix + column]);
    }
    return out as T;
  }
}

export const machineCodec = new RowCodec<MachineRow>('machines', [
  ['id', 'id', 'int'],
  ['hostname', 'hostname', 'text'],
  ['tpmvendor', 'tpmvendor', 'text'],
  ['challenge', 'challenge', 'text'],
  ['ekcertificatepem', 'ekcertificatepem', 'text'],
  ['ekcertificatetext', 'ekcertificatetext', 'text'],
  ['attestpub', 'attestpub', 'text'],
  ['akcertificatepem', 'akcertificatepem', 'text'],
  ['akcertificatetext', 'akcertificatetext', 'text'],
  ['enrolled', 'enrolled', 'time'],
  ['boottime', 'boottime', 'boottime'],
  ['imaevents', 'imaevents', 'int'],
  ['imapcr', 'imapcr', 'text'],
  ['whitelist', 'pcr', 'pcrs'],
  ['challengeExpires', 'challenge_expires', 'time'],
  ['ekFingerprint', 'ek_fingerprint', 'text'],
  ['ekAlg', 'ek_alg', 'text'],
  ['akName', 'ak_name', 'text'],
  ['akAlg', 'ak_alg', 'text'],
  ['pendingAttestpub', 'pending_attestpub', 'text'],
  ['pendingAkName', 'pending_ak_name', 'text'],
  ['pendingAkAlg', 'pending_ak_alg', 'text'],
  ['imapcrSha1', 'imapcr_sha1', 'text'],
  ['resetCount', 'reset_count', 'int'],
  ['restartCount', 'restart_count', 'int'],
  ['createdAt', 'created_at', 'time'],
  ['updatedAt', 'updated_at', 'time'],
  ['pendingEkcertificatepem', 'pending_ekcertificatepem', 'text'],
  ['pendingTpmvendor', 'pending_tpmvendor', 'text'],
  ['policyViolations', 'policy_violations', 'int'],
]);

export const machineWithoutCertsCodec: RowCodec<MachineWithoutCerts> = machineCodec.omit(['ekcertificatepem', 'ekcertificatetext', 'akcertificatepem', 'akcertificatetext']);

export const attestationCodec: RowCodec<AttestationRow> = new RowCodec<AttestationRow>('attestlog', [
  ['id', 'id', 'int'],
  ['userid', 'userid', 'text'],
  ['hostname', 'hostname', 'text'],
  ['boottime', 'boottime', 'boottime'],
  ['timestamp', 'timestamp', 'time'],
  ['nonce', 'nonce', 'text'],
  ['pcrselect', 'pcrselect', 'text'],
  ['quote', 'quote', 'text'],
  ['pcrs', 'pcr', 'pcrs'],
  ['pcrschanged', 'pcrschanged', 'bool'],
  ['pcrinvalid', 'pcrinvalid', 'bool'],
  ['quoteverified', 'quoteverified', 'bool'],
  ['logverified', 'logverified', 'bool'],
  ['logentries', 'logentries', 'int'],
  ['imaevents', 'imaevents', 'int'],
  ['imaver', 'imaver', 'bool'],
  ['imasigver', 'imasigver', 'bool'],
  ['badimalog', 'badimalog', 'bool'],
  ['machineId', 'machine_id', 'int'],
  ['nonceExpires', 'nonce_expires', 'time'],
  ['biosentry', 'biosentry', 'int'],
  ['imaentry', 'imaentry', 'int'],
  ['newBoot', 'new_boot', 'bool'],
  ['quoted', 'quoted', 'time'],
  ['resetCount', 'reset_count', 'int'],
  ['restartCount', 'restart_count', 'int'],
  ['errorCode', 'error_code', 'text'],
  ['errorMessage', 'error_message', 'text'],
  ['diagnosis', 'diagnosis', 'text'],
  ['verdict', 'verdict', 'text'],
  ['policyViolations', 'policy_violations', 'int'],
]);

export const lastReportCodec: RowCodec<LastReport> = attestationCodec.pick([
  'id', 'quoted', 'errorCode', 'pcrinvalid', 'quoteverified', 'logverified', 'policyViolations', 'boottime', 'pcrs',
]);
export const verifiedPcrsCodec: RowCodec<VerifiedPcrs> = attestationCodec.pick(['id', 'pcrs']);
export const issuedNonceCodec: RowCodec<IssuedNonce> = attestationCodec.pick(['id', 'boottime', 'nonceExpires', 'pcrselect', 'biosentry', 'imaentry', 'newBoot', 'quoted']);

export const biosEventCodec = new RowCodec<BiosEventRow>('bioslog', [
  ['hostname', 'hostname', 'text'],
  ['timestamp', 'timestamp', 'time'],
  ['entrynum', 'entrynum', 'int'],
  ['biosEntry', 'bios_entry', 'text'],
  ['pcrindex', 'pcrindex', 'int'],
  ['pcrsha1', 'pcrsha1', 'text'],
  ['pcrsha256', 'pcrsha256', 'text'],
  ['eventtype', 'eventtype', 'text'],
  ['event', 'event', 'text'],
  ['machineId', 'machine_id', 'int'],
  ['attestationId', 'attestation_id', 'int'],
  ['refused', 'refused', 'bool'],
]);

export const imaEventCodec = new RowCodec<ImaEventRow>('imalog', [
  ['hostname', 'hostname', 'text'],
  ['boottime', 'boottime', 'boottime'],
  ['timestamp', 'timestamp', 'time'],
  ['entrynum', 'entrynum', 'int'],
  ['imaEntry', 'ima_entry', 'text'],
  ['filename', 'filename', 'text'],
  ['badevent', 'badevent', 'bool'],
  ['nosig', 'nosig', 'bool'],
  ['nokey', 'nokey', 'bool'],
  ['badsig', 'badsig', 'bool'],
  ['machineId', 'machine_id', 'int'],
  ['attestationId', 'attestation_id', 'int'],
  ['template', 'template', 'text'],
  ['filehash', 'filehash', 'text'],
  ['refused', 'refused', 'bool'],
]);

export const securityEventCodec = new RowCodec<SecurityEventRow & { id: number }>('security_events', [
  ['id', 'id', 'int'],
  ['timestamp', 'timestamp', 'time'],
  ['kind', 'kind', 'text'],
  ['hostname', 'hostname', 'text'],
  ['detail', 'detail', 'text'],
]);
