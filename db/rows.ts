/**
 * Mapping between the store's row types and table columns, derived from the
 * MySQL tables (db/row-fields.ts): how values are encoded for binding and
 * decoded from either driver (booleans as 0/1, times as UTC text, PcrBanks as
 * 48 columns).
 */
import { ident, parseTime, sqlValue, type SqlRow, type SqlValue } from './driver.js';
import { getTableConfig, type MySqlTable } from 'drizzle-orm/mysql-core';
import { PCR_BANK_NAMES, PCR_COUNT, type PcrBankName } from '../shared/tpm/pcr-banks.js';
import { pcrColumn } from './schema/columns.js';
import { tableFields, type DerivedRow, type Field, type FieldOptions, type Same } from './row-fields.js';
import * as mysqlSchema from './schema/mysql.js';
import { StoreError } from './store.js';
import type { AttestationRow, BiosEventRow, ImaEventRow, IssuedNonce, MachineRow, MachineWithoutCerts, PcrBanks, LastReport, SecurityEventRow, VerifiedPcrs } from './store.js';

export type { Field, Kind } from './row-fields.js';

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
  const read = (columns: readonly string[]): (string | null)[] => {
    const values = new Array<string | null>(columns.length);
    for (let i = 0; i < columns.length; i++) {
      const v = (row[prefix ? prefix + columns[i]! : columns[i]!] as string | null | undefined) ?? null;
      if (v !== null) any = true;
      values[i] = v;
    }
    return values;
  };
  const banks = { sha256: read(PCR_COLUMNS.sha256), sha1: read(PCR_COLUMNS.sha1) };
  return any ? banks : null;
}

/** Reads one field from a row; built once per codec so decoding a row does no dispatch on kinds. */
type FieldDecoder = (row: SqlRow, prefix: string) => unknown;

function fieldDecoder([, column, kind]: Field): FieldDecoder {
  const read = (row: SqlRow, prefix: string): unknown => row[prefix ? prefix + column : column];
  switch (kind) {
    case 'pcrs':
      return decodePcrs;
    case 'int':
      return (row, prefix) => { const v = read(row, prefix); return v === null || v === undefined ? null : Number(v); };
    case 'bool':
      return (row, prefix) => { const v = read(row, prefix); return v === null || v === undefined ? null : Number(v) !== 0; };
    case 'time':
      return (row, prefix) => { const v = read(row, prefix); return v === null || v === undefined ? null : parseTime(v); };
    default:
      return (row, prefix) => { const v = read(row, prefix); return v === null || v === undefined ? null : String(v); };
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
  private readonly decoders: readonly FieldDecoder[];
  private readonly keys: readonly string[];

  constructor(
    readonly table: string,
    private readonly fields: readonly Field[],
  ) {
    this.columns = fields.flatMap(physical);
    this.encoders = fields.map((f) => fieldEncoder(table, f));
    this.decoders = fields.map(fieldDecoder);
    this.keys = fields.map(([key]) => key);
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
    for (let i = 0; i < this.keys.length; i++) out[this.keys[i]!] = this.decoders[i]!(row, prefix);
    return out as T;
  }
}

/**
 * The codec of a drizzle table whose decoded row is exactly T: the fields come
 * from the table, and a row type that drifts from it (a key missing, extra or
 * renamed, a nullability or value type that differs) fails to compile here.
 */
export function tableCodec<T>() {
  return <Tb extends MySqlTable, P extends string = never, O extends string = never>(
    table: Tb,
    options: FieldOptions<P, O>,
    ..._mismatch: Same<T, DerivedRow<Tb, P, O>> extends true ? [] : [expected: DerivedRow<Tb, P, O>]
  ): RowCodec<T> => new RowCodec<T>(getTableConfig(table).name, tableFields(table, options));
}

export const machineCodec = tableCodec<MachineRow>()(mysqlSchema.machines, { pcrs: 'whitelist', omit: ['enrolledEkFingerprint'] });

export const machineWithoutCertsCodec: RowCodec<MachineWithoutCerts> = machineCodec.omit(['ekcertificatepem', 'ekcertificatetext', 'akcertificatepem', 'akcertificatetext']);

export const attestationCodec = tableCodec<AttestationRow>()(mysqlSchema.attestlog, { pcrs: 'pcrs' });

export const lastReportCodec: RowCodec<LastReport> = attestationCodec.pick([
  'id', 'quoted', 'errorCode', 'pcrinvalid', 'quoteverified', 'logverified', 'policyViolations', 'boottime', 'pcrs',
]);
export const verifiedPcrsCodec: RowCodec<VerifiedPcrs> = attestationCodec.pick(['id', 'pcrs']);
export const issuedNonceCodec: RowCodec<IssuedNonce> = attestationCodec.pick(['id', 'boottime', 'nonceExpires', 'pcrselect', 'biosentry', 'imaentry', 'newBoot', 'quoted']);

/** Event rows are written in bulk and read by attestation; their ids are never read. */
export const biosEventCodec = tableCodec<BiosEventRow>()(mysqlSchema.bioslog, { omit: ['id'] });
export const imaEventCodec = tableCodec<ImaEventRow>()(mysqlSchema.imalog, { omit: ['id'] });

export const securityEventCodec = tableCodec<SecurityEventRow & { id: number }>()(mysqlSchema.security_events, {});
