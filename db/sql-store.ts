/**
 * The Store over a SqlDriver: one implementation for MySQL/MariaDB and SQLite.
 * Every statement is parameterized; identifiers come only from the schema.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ident, type SqlConnection, type SqlDriver, type SqlValue, type TxConnection } from './driver.js';
import { attestationCodec, biosEventCodec, imaEventCodec, issuedNonceCodec, machineCodec, machineWithoutCertsCodec, lastReportCodec, securityEventCodec, verifiedPcrsCodec, type RowCodec } from './rows.js';
import { StoreError } from './store.js';
import { insertOutboxRows, type NewOutboxRow } from './alert-outbox.js';
import { assignDefaultPolicies, policyBody } from './policy-store.js';
import { readQuoteState, type QuoteState } from './quote-state.js';
import { notRefused, refused } from './report-sql.js';
import type {
  AcceptedFirmwareEvent, AttestationPatch, AttestationRow, BiosEventRow, EnrolledMachine, LastReport, SecurityEventRow, ImaEventRow, IssuedNonce, MachinePatch, MachineRow, MachineWithoutCerts, NewAttestation, VerifiedPcrs, NewMachine, Store, StoreTx, TransactionOptions,
} from './store.js';

/**
 * Rows per multi-row INSERT at most (the placeholder limit may cut lower). A
 * full batch is a prepared statement whose text repeats, prepared once per
 * connection. 1,000 rows measured as fast as 500 in fewer statements; 2,000
 * measured slower: preparing a statement costs the server and mysql2 one
 * parameter definition per placeholder.
 */
const BATCH_ROWS = 1000;
/**
 * Characters of values (most of them hex) per INSERT at most: under
 * max_allowed_packet with room for the statement (16 MiB in MariaDB, 4 MiB in
 * MySQL 5.7). Only rows far larger than usual (whole certificate databases in
 * firmware events) cut a batch here.
 */
const BATCH_CHARS = 3 * 1024 * 1024;

const MACHINE_SELECT = `SELECT ${machineCodec.select()} FROM machines`;
const MACHINE_WITHOUT_CERTS_SELECT = `SELECT ${machineWithoutCertsCodec.select()} FROM machines`;
const ATTESTATION_SELECT = `SELECT ${attestationCodec.select()} FROM attestlog`;
const ISSUED_NONCE_SELECT = `SELECT ${issuedNonceCodec.select()} FROM attestlog`;
const enrolledMachineCodec = machineCodec.pick(['id', 'hostname', 'enrolled', 'attestpub', 'imaevents', 'boottime']);
/** A nonce's read: the machine and how many nonces it holds unanswered (attestlog_pending_idx). */
const ENROLLED_MACHINE_SELECT = `SELECT ${enrolledMachineCodec.select('m')},
  (SELECT COUNT(*) FROM attestlog a WHERE a.machine_id = m.id AND a.quoted IS NULL) AS pending_nonces
FROM machines m WHERE m.hostname = ?`;

function insertSql(table: string, columns: readonly string[], rows: number): string {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  return `INSERT INTO ${ident(table)} (${columns.map(ident).join(', ')}) VALUES ${Array(rows).fill(tuple).join(', ')}`;
}

function updateSql(table: string, columns: readonly string[]): string {
  return `UPDATE ${ident(table)} SET ${columns.map((c) => `${ident(c)} = ?`).join(', ')} WHERE id = ?`;
}

async function insertAttestation(conn: SqlConnection, a: NewAttestation): Promise<number> {
  const { columns, params } = attestationCodec.encode(a);
  return (await conn.run(insertSql('attestlog', columns, 1), params)).insertId;
}

/** Sends one write: at once, or deferred to the transaction's next round trip. */
type Write = (sql: string, params: SqlValue[]) => Promise<void> | void;

/** The statement of a full batch per codec and row count: built once, not per batch. */
const fullBatchSql = new WeakMap<RowCodec<unknown>, Map<number, string>>();

/**
 * Inserts rows with multi-row INSERTs cut by row count, placeholder count and
 * size. Rows are encoded straight into the batch's parameter list.
 */
async function insertMany<T>(conn: SqlConnection, write: Write, driver: SqlDriver, codec: RowCodec<T>, rows: readonly T[]): Promise<void> {
  const width = codec.columns.length;
  const maxRows = Math.min(BATCH_ROWS, Math.floor(driver.maxParams / width));
  const statement = (count: number): string => {
    if (count !== maxRows) return insertSql(codec.table, codec.columns, count);
    let byCount = fullBatchSql.get(codec as RowCodec<unknown>);
    if (byCount === undefined) fullBatchSql.set(codec as RowCodec<unknown>, (byCount = new Map()));
    let sql = byCount.get(count);
    if (sql === undefined) byCount.set(count, (sql = insertSql(codec.table, codec.columns, count)));
    return sql;
  };
  // A full batch is sent at once as a prepared statement (binary protocol) even in a transaction that
  // defers its writes: as deferred SQL text every value is escaped by the client and parsed by the server,
  // about a fifth more time for a full IMA log. A batch of another size (an incremental attestation's few
  // entries, the rest of a log) goes as the transaction's writes do: its statement would be prepared for
  // one use only.
  const send = async (count: number, params: SqlValue[]): Promise<void> => {
    if (count === maxRows) await conn.run(statement(count), params);
    else await write(statement(count), params);
  };
  let params: SqlValue[] = [];
  let chars = 0;
  for (const row of rows) {
    const start = params.length;
    codec.encodeRowInto(row, params);
    let size = (params.length - start) * 8;
    for (let i = start; i < params.length; i++) {
      const v = params[i];
      if (typeof v === 'string') size += v.length;
    }
    if (start > 0 && chars + size > BATCH_CHARS) {
      // This row opens the next batch.
      const carried = params.splice(start);
      await send(start / width, params);
      params = carried;
      chars = 0;
    }
    chars += size;
    if (params.length === maxRows * width) {
      await send(maxRows, params);
      params = [];
      chars = 0;
    }
  }
  if (params.length > 0) await send(params.length / width, params);
}

class SqlStoreTx implements StoreTx {
  /** The transaction's writes whose result is not needed (TransactionOptions.deferWrites). */
  private readonly write: Write;

  constructor(
    private readonly conn: TxConnection,
    private readonly driver: SqlDriver,
    options: TransactionOptions = {},
  ) {
    this.write = options.deferWrites ? (sql, params) => conn.defer(sql, params) : async (sql, params) => void (await conn.run(sql, params));
  }

  quoteState(hostname: string, nonce: string): Promise<QuoteState | undefined> {
    return readQuoteState(this.conn, this.driver, hostname, nonce);
  }

  private async one<T>(codec: RowCodec<T>, sql: string, params: SqlValue[]): Promise<T | undefined> {
    const rows = await this.conn.all(sql, params);
    return rows.length ? codec.decode(rows[0]!) : undefined;
  }

  machineForUpdate(hostname: string): Promise<MachineWithoutCerts | undefined> {
    return this.one(machineWithoutCertsCodec, `${MACHINE_WITHOUT_CERTS_SELECT} WHERE hostname = ?${this.driver.forUpdate}`, [hostname]);
  }

  async machinesByEkFingerprint(ekFingerprint: string): Promise<MachineRow[]> {
    const rows = await this.conn.all(`${MACHINE_SELECT} WHERE ek_fingerprint = ? ORDER BY id`, [ekFingerprint]);
    return rows.map((r) => machineCodec.decode(r));
  }

  async insertMachine(m: NewMachine): Promise<number> {
    const now = new Date();
    const { columns, params } = machineCodec.encode({ ...m, createdAt: now, updatedAt: now });
    return (await this.conn.run(insertSql('machines', columns, 1), params)).insertId;
  }

  async updateMachine(id: number, patch: MachinePatch): Promise<void> {
    const { columns, params } = machineCodec.encode({ ...patch, updatedAt: new Date() });
    await this.write(updateSql('machines', columns), [...params, id]);
  }

  async deleteMachine(id: number): Promise<void> {
    await this.conn.run('DELETE FROM machines WHERE id = ?', [id]);
  }

  insertAttestation(a: NewAttestation): Promise<number> {
    return insertAttestation(this.conn, a);
  }

  attestationByNonceForUpdate(machineId: number, nonce: string): Promise<IssuedNonce | undefined> {
    return this.one(issuedNonceCodec, `${ISSUED_NONCE_SELECT} WHERE nonce = ? AND machine_id = ?${this.driver.forUpdate}`, [nonce, machineId]);
  }

  pendingAttestationForUpdate(machineId: number): Promise<IssuedNonce | undefined> {
    return this.one(
      issuedNonceCodec,
      `${ISSUED_NONCE_SELECT} WHERE machine_id = ? AND quoted IS NULL ORDER BY id DESC LIMIT 1${this.driver.forUpdate}`,
      [machineId],
    );
  }

  lastVerifiedAttestation(machineId: number, beforeId: number): Promise<VerifiedPcrs | undefined> {
    return this.one(
      verifiedPcrsCodec,
      `SELECT ${verifiedPcrsCodec.select('a')} FROM attestlog a WHERE a.machine_id = ? AND a.id < ? AND a.quoteverified = 1 AND ${notRefused('a')} ORDER BY a.id DESC LIMIT 1`,
      [machineId, beforeId],
    );
  }

  async updateAttestation(id: number, patch: AttestationPatch): Promise<void> {
    const { columns, params } = attestationCodec.encode(patch);
    if (columns.length) await this.write(updateSql('attestlog', columns), [...params, id]);
  }

  lastReport(machineId: number, beforeId: number): Promise<LastReport | undefined> {
    return this.one(
      lastReportCodec,
      `SELECT ${lastReportCodec.select()} FROM attestlog WHERE machine_id = ? AND id < ? AND quoted IS NOT NULL ORDER BY id DESC LIMIT 1`,
      [machineId, beforeId],
    );
  }

  insertAlerts(rows: readonly NewOutboxRow[]): Promise<void> {
    return insertOutboxRows(this.write, this.driver, rows);
  }

  policyBody(id: number): Promise<string | undefined> {
    return policyBody(this.conn, id);
  }

  assignDefaultPolicies(hostname: string, now: Date): Promise<void> {
    return assignDefaultPolicies(this.conn, this.driver, hostname, now);
  }

  insertBiosEvents(rows: BiosEventRow[]): Promise<void> {
    return insertMany(this.conn, this.write, this.driver, biosEventCodec, rows);
  }

  insertImaEvents(rows: ImaEventRow[]): Promise<void> {
    return insertMany(this.conn, this.write, this.driver, imaEventCodec, rows);
  }

  async acceptedFirmwareEvents(machineId: number, beforeId: number, pcrs: readonly number[]): Promise<AcceptedFirmwareEvent[]> {
    if (pcrs.length === 0) return [];
    const rows = await this.conn.all(
      `SELECT entrynum, pcrindex, eventtype, pcrsha1, pcrsha256 FROM bioslog
       WHERE attestation_id = (SELECT MAX(attestation_id) FROM bioslog WHERE machine_id = ? AND refused = 0 AND attestation_id < ?)
         AND pcrindex IN (${pcrs.map(() => '?').join(', ')})
       ORDER BY entrynum`,
      [machineId, beforeId, ...pcrs],
    );
    return rows.map((r) => ({
      entrynum: Number(r.entrynum),
      pcrindex: Number(r.pcrindex),
      eventtype: String(r.eventtype),
      pcrsha1: (r.pcrsha1 as string | null) ?? null,
      pcrsha256: (r.pcrsha256 as string | null) ?? null,
    }));
  }

  async pruneRefusedEvidence(machineId: number, keep: number): Promise<void> {
    // The oldest refused report still kept; evidence of refused reports before it goes.
    const kept = await this.conn.all(
      `SELECT a.id FROM attestlog a WHERE a.machine_id = ? AND ${refused('a')} AND a.quoteverified = 1 ORDER BY a.id DESC LIMIT 1 OFFSET ?`,
      [machineId, Math.max(keep - 1, 0)],
    );
    const before = keep === 0 ? Number.MAX_SAFE_INTEGER : kept.length ? Number(kept[0]!.id) : null;
    if (before === null) return;
    for (const table of ['bioslog', 'imalog']) {
      await this.conn.run(`DELETE FROM ${ident(table)} WHERE machine_id = ? AND refused = 1 AND attestation_id < ?`, [machineId, before]);
    }
  }

  async insertSecurityEvent(e: SecurityEventRow, keep: number): Promise<void> {
    const { columns, params } = securityEventCodec.encode(e);
    await this.conn.run(insertSql('security_events', columns, 1), params);
    const oldestKept = await this.conn.all('SELECT id FROM security_events ORDER BY id DESC LIMIT 1 OFFSET ?', [keep - 1]);
    if (oldestKept.length) await this.conn.run('DELETE FROM security_events WHERE id < ?', [Number(oldestKept[0]!.id)]);
  }
}

export class SqlStore implements Store {
  /** The connection of the transaction running in the current async context, if any. */
  private readonly current = new AsyncLocalStorage<TxConnection>();

  constructor(readonly driver: SqlDriver) {}

  get dialect(): 'mysql' | 'sqlite' {
    return this.driver.dialect;
  }

  /** Reads outside a transaction; inside one they run on its connection (SQLite would otherwise wait on itself). */
  protected get conn(): SqlConnection {
    return this.current.getStore() ?? this.driver;
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>, options?: TransactionOptions): Promise<T> {
    if (this.current.getStore()) {
      return Promise.reject(new StoreError('transactions do not nest', 0x80000042));
    }
    return this.driver.transaction((conn) => this.current.run(conn, () => fn(new SqlStoreTx(conn, this.driver, options))));
  }

  async getMachine(hostname: string): Promise<MachineRow | undefined> {
    const rows = await this.conn.all(`${MACHINE_SELECT} WHERE hostname = ?`, [hostname]);
    return rows.length ? machineCodec.decode(rows[0]!) : undefined;
  }

  async enrolledMachine(hostname: string): Promise<EnrolledMachine | undefined> {
    const rows = await this.conn.all(ENROLLED_MACHINE_SELECT, [hostname]);
    return rows.length ? { ...enrolledMachineCodec.decode(rows[0]!), pendingNonces: Number(rows[0]!.pending_nonces) } : undefined;
  }

  async machineWithoutCerts(hostname: string): Promise<MachineWithoutCerts | undefined> {
    const rows = await this.conn.all(`${MACHINE_WITHOUT_CERTS_SELECT} WHERE hostname = ?`, [hostname]);
    return rows.length ? machineWithoutCertsCodec.decode(rows[0]!) : undefined;
  }

  insertAttestation(a: NewAttestation): Promise<number> {
    return insertAttestation(this.conn, a);
  }

  async retirePendingNonces(machineId: number, keep: number): Promise<void> {
    // The oldest kept is found through a derived table: MySQL refuses a DELETE reading its own table directly.
    await this.conn.run(
      `DELETE FROM attestlog WHERE machine_id = ? AND quoted IS NULL AND id < (
         SELECT id FROM (SELECT id FROM attestlog WHERE machine_id = ? AND quoted IS NULL ORDER BY id DESC LIMIT 1 OFFSET ?) AS oldest_kept)`,
      [machineId, machineId, keep - 1],
    );
  }

  async getAttestation(id: number): Promise<AttestationRow | undefined> {
    const rows = await this.conn.all(`${ATTESTATION_SELECT} WHERE id = ?`, [id]);
    return rows.length ? attestationCodec.decode(rows[0]!) : undefined;
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}
