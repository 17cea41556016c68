/**
 * Column names by row key, read from the MySQL tables, for hand-written SQL:
 * `${col.attestlog.errorCode} IS NULL` cannot name a column the schema lacks.
 */
import { columnNames } from '../row-fields.js';
import { attestlog, bioslog, imalog, machines } from './mysql.js';

export const col = {
  machines: columnNames(machines),
  attestlog: columnNames(attestlog),
  bioslog: columnNames(bioslog),
  imalog: columnNames(imalog),
} as const;
