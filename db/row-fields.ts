/**
 * A table's row fields, derived from its drizzle MySQL table: the property
 * name is the row key, the column type gives the value's kind, and the 48 PCR
 * columns fold into one PcrBanks field. The types mirror the derivation, so a
 * row type that drifts from its table fails to compile where its codec is built.
 */
import { getTableColumns, type Column } from 'drizzle-orm';
import { getTableConfig, type MySqlTable } from 'drizzle-orm/mysql-core';
import type { PcrBanks } from '../shared/tpm/pcr-banks.js';
import { PCR_COLUMNS, type PcrColumnName } from './schema/columns.js';

export type Kind = 'text' | 'int' | 'bool' | 'time' | 'boottime' | 'pcrs';
export type Field = readonly [key: string, column: string, kind: Kind];

/** What a table's row leaves out (a generated column, an id the caller never reads) and what it calls its PCR values. */
export interface FieldOptions<P extends string, O extends string> {
  pcrs?: P;
  omit?: readonly O[];
}

type Columns<T extends MySqlTable> = T['_']['columns'];
type FieldKey<T extends MySqlTable, P extends string, O extends string> = Exclude<keyof Columns<T> & string, PcrColumnName | O> | P;

/** The host-reported boot time stays text ("YYYY-MM-DD HH:MM:SS"); every other DATETIME decodes to a Date. */
type Decoded<C extends Column> = C['_']['columnType'] extends 'MySqlDateTimeString'
  ? (C['_']['name'] extends 'boottime' ? string : Date)
  : C['_']['data'];

/** The row a table's fields decode to. */
export type DerivedRow<T extends MySqlTable, P extends string = never, O extends string = never> = {
  [K in FieldKey<T, P, O>]: K extends P
    ? PcrBanks | null
    : Columns<T>[K] extends Column ? (Columns<T>[K]['_']['notNull'] extends true ? Decoded<Columns<T>[K]> : Decoded<Columns<T>[K]> | null) : never;
};

/** true when A and B are the same object type. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

const PCR = new Set<string>(PCR_COLUMNS);

function kindOf(column: Column): Kind {
  switch (column.columnType) {
    case 'MySqlInt':
      return 'int';
    case 'MySqlBoolean':
      return 'bool';
    case 'MySqlDateTimeString':
      // Validated as client data on the way in (rows.ts encodeBoottime).
      return column.name === 'boottime' ? 'boottime' : 'time';
    default:
      return 'text';
  }
}

/** The fields of `table` in column order, PCR columns folded into one field where the first of them stands. */
export function tableFields(table: MySqlTable, options: FieldOptions<string, string>): Field[] {
  const omit = new Set<string>(options.omit ?? []);
  const fields: Field[] = [];
  let pcrsAt = -1;
  for (const [key, column] of Object.entries(getTableColumns(table) as Record<string, Column>)) {
    if (PCR.has(column.name)) {
      if (!options.pcrs) throw new TypeError(`${getTableConfig(table).name} has PCR columns: name their field`);
      if (pcrsAt < 0) pcrsAt = fields.push([options.pcrs, 'pcr', 'pcrs']) - 1;
      continue;
    }
    if (omit.has(key)) continue;
    if (column.generated) throw new TypeError(`${getTableConfig(table).name}.${column.name} is generated: omit ${key}`);
    fields.push([key, column.name, kindOf(column)]);
  }
  if (pcrsAt < 0 && options.pcrs) throw new TypeError(`${getTableConfig(table).name} has no PCR columns`);
  return fields;
}

/** Each table's column names by row key, for the hand-written SQL that names them. */
export function columnNames<T extends MySqlTable>(table: T): { readonly [K in keyof Columns<T>]: string } {
  return Object.fromEntries(Object.entries(getTableColumns(table) as Record<string, Column>).map(([key, c]) => [key, c.name])) as {
    [K in keyof Columns<T>]: string;
  };
}
