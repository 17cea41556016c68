/**
 * The result of the last `acs-client attest`, kept in the state directory
 * for `acs-client status`: an operator at the host sees what the timer's
 * last run did without reading the journal.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Outcome } from './exit-codes.js';

const RECORD_FILE = 'last-attestation.json';

export interface AttestationRecord {
  /** ISO 8601 UTC time the run ended. */
  time: string;
  outcome: Outcome;
  exitCode: number;
  server: string;
  hostname?: string;
  /** The failure's one line, absent on success. */
  error?: string;
  /** The server's refusal: error code and its message (the diagnosis). */
  verdict?: { code: string; meaning: string; diagnosis: string };
  imaEntriesSent?: number;
}

/** Written to a temporary file and renamed, so a reader never sees half a record. */
export async function saveAttestationRecord(stateDir: string, record: AttestationRecord): Promise<void> {
  const file = join(stateDir, RECORD_FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

export async function loadAttestationRecord(stateDir: string): Promise<AttestationRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, RECORD_FILE), 'utf8')) as AttestationRecord;
  } catch {
    return undefined;
  }
}
