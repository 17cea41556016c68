/**
 * An enrolled host for attestation tests: a real swtpm and a real acs-server
 * over TCP, the client's state directory, and the pieces of an attestation
 * (nonce, TPM2_Quote, quote request) one by one so a test can craft bad
 * quotes. Rows are read back straight from the database the server wrote.
 */
import net from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { attest, type AttestOptions, type AttestResult } from '../../client/attest.js';
import { enroll } from '../../client/enroll.js';
import { loadAk } from '../../client/ak.js';
import { loadEnrollment } from '../../client/state-dir.js';
import { QuoteRequestWriter } from '../../shared/protocol/quote.js';
import { flushContext } from '../../client/tpm/commands/objects.js';
import { quote, type Quote } from '../../client/tpm/commands/quote.js';
import { Tpm } from '../../client/tpm/tpm.js';
import { attestationCodec, biosEventCodec, imaEventCodec } from '../../db/rows.js';
import type { AttestationRow, BiosEventRow, ImaEventRow, MachineRow } from '../../db/store.js';
import type { SqlRow, SqlValue } from '../../db/driver.js';
import { AcsError } from '../../shared/protocol/errors.js';
import { decodePayload, frameParts, type JsonObject } from '../../shared/protocol/frame.js';
import { exchange, exchangeFrame } from '../../client/exchange.js';
import { parseResponse, serializeRequest, type NonceResponse } from '../../shared/protocol/messages.js';
import { iterateImaBinaryLog } from '../../shared/eventlog/ima/event.js';
import { encodeImaWireEvent } from '../../shared/eventlog/ima/wire.js';
import { parseFirmwareLog, type FirmwareLog } from '../../shared/eventlog/firmware/event.js';
import { encodeFirmwareWireEvents } from '../../shared/eventlog/firmware/wire.js';
import type { PcrSelection } from '../../shared/tpm/pcr-selection.js';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import type { Swtpm } from './swtpm.js';
import type { TestServer } from './acs-server.js';
import { scratchDir } from './scratch-dir.js';

export { scratchDir };

export const EVENTLOGS = fileURLToPath(new URL('../../../test/fixtures/eventlogs/', import.meta.url));
export const BIOS_LOG = join(EVENTLOGS, 'bios/acs_tpm2bios.bin');
export const IMA_LOG = join(EVENTLOGS, 'ima/acs_imasig.bin');
export const IMA_KEY = join(EVENTLOGS, 'keys/imakey.der');

/** The acs_imasig.bin entry of EXPECTED.json. */
export interface ExpectedImaLog {
  entries: number;
  template_hash_check: { mismatch_entry_indexes_0_based: number[] };
  signatures: { entries_with_signature: number; keyids: Record<string, number>; rsa_valid: number };
  unsigned_entries: number;
}

interface ExpectedJson {
  files: { file: string }[];
  keys: { file: string; ima_keyid_v2: string }[];
}

async function expectedJson(): Promise<ExpectedJson> {
  return JSON.parse(await readFile(join(EVENTLOGS, 'EXPECTED.json'), 'utf8')) as ExpectedJson;
}

/** The EXPECTED.json entry of a log, e.g. 'ima/acs_imasig.bin'. */
export async function expectedLog<T>(file: string): Promise<T> {
  const entry = (await expectedJson()).files.find((f) => f.file === `eventlogs/${file}`);
  if (!entry) throw new Error(`EXPECTED.json has no entry for ${file}`);
  return entry as unknown as T;
}

/** The IMA key id (v2) EXPECTED.json gives for a key file, e.g. 'keys/imakey.der'. */
export async function expectedImaKeyId(file: string): Promise<string> {
  const key = (await expectedJson()).keys.find((k) => k.file === file);
  if (!key) throw new Error(`EXPECTED.json has no key ${file}`);
  return key.ima_keyid_v2;
}


/**
 * Writes an IMA log of acs_imasig.bin's first `count` records, then the whole
 * log `repeat` more times (a log that keeps growing past the fixture's end).
 */
export async function writeImaLog(path: string, count: number, repeat = 0): Promise<void> {
  const full = await readFile(IMA_LOG);
  let end = 0;
  let n = 0;
  for (const ev of iterateImaBinaryLog(full)) {
    if (n++ === count) break;
    end = ev.templateData.byteOffset - full.byteOffset + ev.templateData.length;
  }
  await writeFile(path, Buffer.concat([full.subarray(0, end), ...Array<Buffer>(repeat).fill(full)]));
}

/** IMA events [from, to) of a binary log in the quote request's wire form. */
export async function imaWireEvents(path: string, from: number, to: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const ev of iterateImaBinaryLog(await readFile(path))) {
    if (ev.index >= to) break;
    if (ev.index >= from) out.push(encodeImaWireEvent(ev, 'sha1'));
  }
  return out;
}

/** acs_tpm2bios.bin as `event0..event26`, after `edit` changed the parsed log. */
export async function firmwareWireEvents(edit: (log: FirmwareLog) => void = () => {}): Promise<Buffer[]> {
  const log = parseFirmwareLog(await readFile(BIOS_LOG));
  edit(log);
  return encodeFirmwareWireEvents(log);
}

/**
 * A TCP relay in front of the server that keeps a copy of every request
 * frame a client sends through it (what a network observer would capture).
 */
export interface RecordingProxy {
  port: number;
  /** Complete request frames, header and trailing NUL included, in arrival order. */
  frames: Buffer[];
}

export async function recordingProxy(t: Test, targetPort: number): Promise<RecordingProxy> {
  const frames: Buffer[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const chunks: Buffer[] = [];
    let received = 0;
    let length = -1;
    client.on('data', (chunk: Buffer) => {
      if (length === Infinity) return;
      chunks.push(chunk);
      received += chunk.length;
      if (length < 0 && received >= 4) length = 4 + Buffer.concat(chunks).readUInt32BE(0);
      if (length >= 0 && received >= length) {
        frames.push(Buffer.concat(chunks));
        length = Infinity;
      }
    });
    client.pipe(upstream).pipe(client);
    // One exchange per connection: when either side goes, the other goes too.
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as net.AddressInfo).port, frames };
}

/** The JSON of a recorded frame, with its members in wire order. */
export function framePayload(frame: Buffer): JsonObject {
  const body = frame.subarray(4, 4 + frame.readUInt32BE(0));
  return decodePayload(body[body.length - 1] === 0 ? body.subarray(0, -1) : body);
}

/** The ACS error code a refused request answered, as 8 hex digits; throws when it was accepted. */
export async function refusalCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AcsError) return e.code.toString(16).padStart(8, '0');
    throw e;
  }
  throw new Error('the request was accepted');
}

export class AttestedHost {
  /** The boot time the client reports unless a call says otherwise. */
  bootTime = '2026-11-25 10:00:00';
  imaLog = IMA_LOG;

  private constructor(
    readonly hostname: string,
    readonly tpm: Swtpm,
    readonly server: TestServer,
    readonly stateDir: string,
  ) {}

  /** Enrolls `hostname` with an RSA AK on `tpm` (its state dir is a fresh temp dir). */
  static async enroll(t: Test, tpm: Swtpm, server: TestServer, hostname: string, port = server.port): Promise<AttestedHost> {
    const stateDir = await scratchDir(t);
    await enroll({ server: { host: '127.0.0.1', port }, tcti: tpm.tcti, alg: 'rsa', hostname, stateDir });
    return new AttestedHost(hostname, tpm, server, stateDir);
  }

  get port(): number {
    return this.server.port;
  }

  /** A normal attestation with the client's attest(). */
  attest(over: Partial<AttestOptions> = {}): Promise<AttestResult> {
    return attest({
      server: { host: '127.0.0.1', port: this.port },
      tcti: this.tpm.tcti,
      stateDir: this.stateDir,
      userid: 'tester',
      bootTime: this.bootTime,
      biosLog: BIOS_LOG,
      imaLog: this.imaLog,
      imaHashAlg: 'sha1',
      ...over,
    });
  }

  async nonce(bootTime = this.bootTime, hostname = this.hostname): Promise<NonceResponse> {
    const res = await exchange('127.0.0.1', this.port, serializeRequest({ command: 'nonce', hostname, userid: 'tester', boottime: bootTime }));
    return parseResponse('nonce', res);
  }

  /** TPM2_Quote with this host's AK, loaded from the state dir's blobs. */
  async quote(qualifyingData: Buffer, selection: PcrSelection[]): Promise<Quote> {
    const { blobs } = await loadEnrollment(this.stateDir);
    const tpm = await Tpm.open(this.tpm.tcti);
    try {
      const ak = await loadAk(tpm, blobs);
      try {
        return await quote(tpm, ak.handle, qualifyingData, selection);
      } finally {
        await flushContext(tpm, ak.handle);
      }
    } finally {
      await tpm.close();
    }
  }

  /** A quote request frame as the client builds it. */
  request(q: Quote, events: { firmware?: Buffer[]; ima?: { from: number; events: Buffer[] } } = {}, hostname = this.hostname): Buffer[] {
    const b = new QuoteRequestWriter(hostname, q.quoted, q.signature);
    for (const ev of events.firmware ?? []) b.firmwareEvent(ev);
    b.templateHashAlg(TPM_ALG.SHA1);
    events.ima?.events.forEach((ev, i) => b.imaEvent(events.ima!.from + i, ev));
    return frameParts(b.text());
  }

  send(frame: Buffer[] | JsonObject): Promise<JsonObject> {
    return Array.isArray(frame) ? exchangeFrame('127.0.0.1', this.port, frame) : exchange('127.0.0.1', this.port, frame);
  }

  machine(): Promise<MachineRow | undefined> {
    return this.server.store.getMachine(this.hostname);
  }

  async attestations(): Promise<AttestationRow[]> {
    const rows = await query(this.server, `SELECT ${attestationCodec.select()} FROM attestlog WHERE hostname = ? ORDER BY id`, [this.hostname]);
    return rows.map((r) => attestationCodec.decode(r));
  }

  async lastAttestation(): Promise<AttestationRow> {
    const all = await this.attestations();
    if (!all.length) throw new Error(`no attestlog row for ${this.hostname}`);
    return all[all.length - 1]!;
  }

  async biosRows(attestationId: number): Promise<BiosEventRow[]> {
    const rows = await query(this.server, `SELECT ${biosEventCodec.select()} FROM bioslog WHERE attestation_id = ? ORDER BY entrynum`, [attestationId]);
    return rows.map((r) => biosEventCodec.decode(r));
  }

  /** The IMA rows one attestation stored, in log order. */
  async imaRows(attestationId: number): Promise<ImaEventRow[]> {
    const rows = await query(this.server, `SELECT ${imaEventCodec.select()} FROM imalog WHERE attestation_id = ? ORDER BY entrynum`, [attestationId]);
    return rows.map((r) => imaEventCodec.decode(r));
  }

  /** Every IMA row of this host's accepted chain, in insertion order. */
  async allImaRows(): Promise<ImaEventRow[]> {
    const rows = await query(this.server, `SELECT ${imaEventCodec.select()} FROM imalog WHERE hostname = ? AND refused = 0 ORDER BY id`, [this.hostname]);
    return rows.map((r) => imaEventCodec.decode(r));
  }
}

function query(server: TestServer, sql: string, params: SqlValue[]): Promise<SqlRow[]> {
  return server.store.driver.all(sql, params);
}
