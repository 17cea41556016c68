/**
 * SQL predicates on an attestlog alias that several queries share. A report
 * is refused when the server set its error code; naming the column through
 * the schema keeps every query on the same column.
 */
import { col } from './schema/names.js';

const { errorCode } = col.attestlog;

export const refused = (alias: string): string => `${alias}.${errorCode} IS NOT NULL`;
export const notRefused = (alias: string): string => `${alias}.${errorCode} IS NULL`;
