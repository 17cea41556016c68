/**
 * A stored firmware log for display: the rows as recorded, every digest the
 * events carry, and a Secure Boot summary read from the events' raw bytes —
 * the PCR 7 EFI variables (SecureBoot, PK, KEK, db, dbx; TCG PC Client PFP
 * §3.3.4.8 and §10.4.4), the authorities that verified boot images, the boot
 * variables and applications, and the actions the firmware logged.
 */
import type { StoredBiosEvent } from '../db/queries.js';
import { parseUefiVariableData } from '../shared/eventlog/firmware/efi-variable.js';
import { describeEventData } from '../shared/eventlog/firmware/event-data.js';
import { EV } from '../shared/eventlog/firmware/event-types.js';
import { decodeFirmwareWireEvents, type FirmwareEvent } from '../shared/eventlog/firmware/wire.js';
import { HASH_ALGS } from '../shared/tpm/constants.js';

export interface DigestView {
  alg: string;
  digest: string;
}

export interface FirmwareEventView {
  entrynum: number;
  pcrindex: number;
  eventtype: string;
  digests: DigestView[];
  /** Printable event data as the server recorded it. */
  event: string;
  /** The event in IBM's wire encoding (big-endian), hex. */
  raw: string;
}

export interface SecureBootVariable {
  name: string;
  value: string;
  /** Signature database entries (PK, KEK, db, dbx ...), when the value is a signature list. */
  entries: number | null;
}

export interface SecureBootSummary {
  /** The SecureBoot variable as measured: "enabled", "disabled", or "not measured". */
  secureBoot: string;
  /** EV_EFI_VARIABLE_DRIVER_CONFIG variables in log order. */
  variables: SecureBootVariable[];
  /** EV_EFI_VARIABLE_AUTHORITY: the certificates or hashes that allowed images to load. */
  authorities: string[];
  /** EV_EFI_VARIABLE_BOOT / BOOT2: BootOrder and Boot#### load options with their device paths. */
  bootVariables: string[];
  /** EV_EFI_BOOT_SERVICES_APPLICATION: images started, with their device paths. */
  bootApplications: string[];
  /** EV_ACTION / EV_EFI_ACTION strings. */
  actions: string[];
  separators: number;
  errorSeparators: number;
}

export interface FirmwareLogView {
  events: FirmwareEventView[];
  /** null when the raw events did not decode (then digests come from the stored columns only). */
  secureBoot: SecureBootSummary | null;
  decodeError: string | null;
}

/** describeUefiVariable writes a signature database as "N entries (x509: …)"; the count is read back from it. */
const ENTRIES = /^(\d+) entr(?:y|ies)\b/;

function algName(alg: number): string {
  return HASH_ALGS.get(alg)?.name ?? `0x${alg.toString(16).padStart(4, '0')}`;
}

function secureBootSummary(events: FirmwareEvent[]): SecureBootSummary {
  const s: SecureBootSummary = {
    secureBoot: 'not measured', variables: [], authorities: [], bootVariables: [], bootApplications: [], actions: [],
    separators: 0, errorSeparators: 0,
  };
  for (const ev of events) {
    const text = describeEventData(ev);
    switch (ev.eventType) {
      case EV.EFI_VARIABLE_DRIVER_CONFIG: {
        let name: string;
        try {
          name = parseUefiVariableData(ev.data).name;
        } catch {
          name = '(malformed variable)';
        }
        const value = text.includes(' = ') ? text.slice(text.indexOf(' = ') + 3) : text;
        const entries = ENTRIES.exec(value);
        s.variables.push({ name, value, entries: entries ? Number(entries[1]) : null });
        if (name === 'SecureBoot') s.secureBoot = value;
        break;
      }
      case EV.EFI_VARIABLE_AUTHORITY: s.authorities.push(text); break;
      case EV.EFI_VARIABLE_BOOT:
      case EV.EFI_VARIABLE_BOOT2:
        s.bootVariables.push(text);
        break;
      case EV.EFI_BOOT_SERVICES_APPLICATION: s.bootApplications.push(text); break;
      case EV.ACTION:
      case EV.EFI_ACTION:
        s.actions.push(text);
        break;
      case EV.SEPARATOR:
        s.separators += 1;
        if (text.includes('error separator')) s.errorSeparators += 1;
        break;
    }
  }
  return s;
}

function storedDigests(row: StoredBiosEvent): DigestView[] {
  const out: DigestView[] = [];
  if (row.pcrsha1) out.push({ alg: 'sha1', digest: row.pcrsha1 });
  if (row.pcrsha256) out.push({ alg: 'sha256', digest: row.pcrsha256 });
  return out;
}

/** The rows of one firmware log (entrynum order) decoded for display; never throws on bad stored bytes. */
export function viewFirmwareLog(rows: readonly StoredBiosEvent[]): FirmwareLogView {
  let decoded: FirmwareEvent[] | null = null;
  let decodeError: string | null = null;
  if (rows.length > 0) {
    try {
      decoded = decodeFirmwareWireEvents(rows.map((r) => Buffer.from(r.biosEntry, 'hex'))).events;
    } catch (e) {
      decodeError = (e as Error).message;
    }
  }
  const events = rows.map((r, i) => ({
    entrynum: r.entrynum,
    pcrindex: r.pcrindex,
    eventtype: r.eventtype,
    digests: decoded ? decoded[i]!.digests.map((d) => ({ alg: algName(d.alg), digest: d.digest.toString('hex') })) : storedDigests(r),
    event: r.event,
    raw: r.biosEntry,
  }));
  return { events, secureBoot: decoded ? secureBootSummary(decoded) : null, decodeError };
}
