/**
 * The event-log fixtures (test/fixtures/eventlogs, a copy of the shared
 * fixtures) and their independently computed expectations, EXPECTED.json.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseImaAsciiLog } from '../../shared/eventlog/ima/ascii.js';
import { parseImaBinaryLog, type ImaEvent } from '../../shared/eventlog/ima/event.js';

export const EVENTLOG_DIR = fileURLToPath(new URL('../../../test/fixtures/eventlogs/', import.meta.url));
export const ACS_WIRE_DIR = fileURLToPath(new URL('../../../test/fixtures/acs-wire/', import.meta.url));
export const REPO_DIR = fileURLToPath(new URL('../../../', import.meta.url));

export type PcrJson = Record<string, Record<string, string>>;

export interface BiosExpectation {
  file: string;
  expect_parse: 'ok' | 'error';
  format: string | null;
  spec_id_event?: {
    platformClass: number;
    specVersion: string;
    errata: number;
    uintnSize: number;
    algorithms: { id: string; name: string; size: number }[];
    vendorInfoSize: number;
  } | null;
  banks?: string[];
  events?: {
    records_total: number;
    includes_spec_id_event: boolean;
    other_no_action_events: number;
    measurement_events: number;
    measurement_events_per_pcr: Record<string, number>;
    event_types: Record<string, number>;
    records_missing_some_bank_digests?: number[];
  };
  startup_locality?: number | null;
  replayed_pcrs?: PcrJson;
  boot_aggregate?: Record<string, string>;
  tpm_pcrs_known_good?: { pcrs: PcrJson };
  tpm2_eventlog: { result: string; exit_code: number; tpm2_eventlog_values_that_differ?: PcrJson };
  pcr5_after_ebs_workaround?: { sha1: string; appended: string[] };
}

export interface ImaExpectation {
  file: string;
  template_hash_alg: string;
  template_hash_size_bytes: number[];
  entries: number;
  templates: Record<string, number>;
  pcrs_used: Record<string, number>;
  file_digest_algs: Record<string, number>;
  violations_all_zero_template_hash: number;
  template_hash_check: { mismatches: number; mismatch_entry_indexes_0_based: number[] };
  signatures?: {
    entries_with_signature: number;
    keyids: Record<string, number>;
    signature_hash_algs: Record<string, number>;
    rsa_valid?: number;
    not_valid_with_that_key?: number;
  };
  boot_aggregate: string | null;
  expected_pcr10: Record<string, { pcrs?: PcrJson }>;
  pcr10_after_first_n_entries?: Record<string, Record<string, string>>;
  tpm_pcrs_known_good?: { pcrs: PcrJson };
  unsigned_entries?: number;
}

export interface KeyExpectation {
  file: string;
  ima_keyid_v2: string;
  subject_key_identifier?: string;
}

interface Expected {
  files: (BiosExpectation | ImaExpectation)[];
  keys: KeyExpectation[];
}

export const EXPECTED: Expected = JSON.parse(readFileSync(`${EVENTLOG_DIR}EXPECTED.json`, 'utf8'));

export const biosFiles = EXPECTED.files.filter((f) => f.file.startsWith('eventlogs/bios/')) as BiosExpectation[];
export const imaFiles = EXPECTED.files.filter((f) => f.file.startsWith('eventlogs/ima/')) as ImaExpectation[];

/** Path of a fixture named as in EXPECTED.json ("eventlogs/bios/x.bin", "keys/k.der"). */
export function fixturePath(name: string): string {
  return EVENTLOG_DIR + name.replace(/^eventlogs\//, '');
}

export function fixture(name: string): Buffer {
  return readFileSync(fixturePath(name));
}

export function imaFile(base: string): ImaExpectation {
  const f = imaFiles.find((x) => x.file === `eventlogs/ima/${base}`);
  if (!f) throw new Error(`no expectation for ${base}`);
  return f;
}

export function biosFile(base: string): BiosExpectation {
  const f = biosFiles.find((x) => x.file === `eventlogs/bios/${base}`);
  if (!f) throw new Error(`no expectation for ${base}`);
  return f;
}

/** "sha1" for "sha1", "sm3_256" for "sm3_256 (32-byte column)". */
export function templateHashAlgOf(f: ImaExpectation): string {
  return f.template_hash_alg.split(' ')[0];
}

/** Every event of an IMA fixture, binary or ASCII, read with its template-hash algorithm. */
export function loadIma(f: ImaExpectation): ImaEvent[] {
  const alg = templateHashAlgOf(f);
  return f.file.endsWith('.ascii')
    ? parseImaAsciiLog(fixture(f.file).toString('utf8'), { templateHashAlg: alg })
    : parseImaBinaryLog(fixture(f.file), { templateHashAlg: alg });
}
