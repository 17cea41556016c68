/**
 * The tamper matrix: altered, replayed and misdirected attestation evidence
 * against a real swtpm host, the real server over TCP and MariaDB. Each row
 * crafts one request from genuine pieces (nonce exchange, TPM2_Quote with the
 * enrolled AK, the host's logs, captured enrollment frames) and names the
 * error it must get. For every row the runner checks that code, that the
 * machines, bioslog and imalog tables are as they were (one transaction per
 * request, DESIGN.md), and that the host's next normal attestation is still
 * incremental from the stored position: a refused or replayed quote never
 * resets the machine's boot state.
 *
 * Rows that expect 'accepted' alter bytes no quote covers; their `why` says
 * which, and the runner checks the verified firmware PCRs are still the
 * genuine ones. The one row marked `reboot` is a real TPM reset, proven by
 * the TPM's own signed resetCount: there the boot position is cleared and
 * the next attestation is a full one.
 */
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import t, { type Test } from 'tap';
import { extendLogs } from '../../client/extend.js';
import { QuoteRequestWriter } from '../../shared/protocol/quote.js';
import type { Quote } from '../../client/tpm/commands/quote.js';
import { shutdown } from '../../client/tpm/commands/startup.js';
import { Tpm } from '../../client/tpm/tpm.js';
import type { SqlRow } from '../../db/driver.js';
import type { MachineRow } from '../../db/store.js';
import { FIRMWARE_PCRS, IMA_PCR } from '../../shared/tpm/pcr-roles.js';
import { EV, eventTypeName } from '../../shared/eventlog/firmware/event-types.js';
import { parseFirmwareLog, type FirmwareLog } from '../../shared/eventlog/firmware/event.js';
import { AcsError, formatErrorCode } from '../../shared/protocol/errors.js';
import { frameParts, type JsonObject } from '../../shared/protocol/frame.js';
import type { NonceResponse } from '../../shared/protocol/messages.js';
import { TPM_ALG, TPM_ST, hashAlgName } from '../../shared/tpm/constants.js';
import { buildPcrSelection, marshalPcrSelection, unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import { startTestServer } from '../helpers/acs-server.js';
import {
  AttestedHost, BIOS_LOG, expectedLog, firmwareWireEvents, framePayload, recordingProxy, scratchDir, type ExpectedImaLog,
} from '../helpers/attested-host.js';
import { machineRows } from '../helpers/machines-table.js';
import { startSwtpm } from '../helpers/swtpm.js';
import { GrowingImaLog, IMA_WIRE, attestLayout, flipped, imaWithPcr, imaWithTemplateHash, patched, type AttestLayout } from './tamper-bytes.js';

const NONCE_TTL_MS = 5 * 60 * 1000;
/** New IMA events the TPM measures before each IMA row; the row alters one or more of them. */
const WINDOW = 20;
const ALL_PCRS = [...FIRMWARE_PCRS, IMA_PCR];

type Crafted = Buffer[] | JsonObject;
interface TamperCase {
  name: string;
  craft: (t: Test) => Promise<Crafted>;
  /** The error code as on the wire, or 'accepted'. */
  expect: string;
  /** For 'accepted': why the alteration is outside what the quote proves. */
  why?: string;
  /** Further checks right after the answer. */
  check?: (t: Test) => Promise<void>;
  /** The TPM was really reset: the boot position is cleared and the next attestation is full. */
  reboot?: boolean;
}

const [tpm, tpmB] = await Promise.all([startSwtpm({ t }), startSwtpm({ t })]);
let skewMs = 0;
const server = await startTestServer(t, {
  trust: [tpm.caCertPem, tpm.intermediateCertPem, tpmB.caCertPem, tpmB.intermediateCertPem],
  now: () => new Date(Date.now() + skewMs),
});
// The host enrolls through a recording relay: its enrollment frames are what a network observer holds.
const proxy = await recordingProxy(t, server.port);
const host = await AttestedHost.enroll(t, tpm, server, 'tampered.test', proxy.port);
const captured = (command: string): Buffer => proxy.frames.find((f) => framePayload(f).command === command)!;
const other = await AttestedHost.enroll(t, tpmB, server, 'bystander.test');

const ima = await GrowingImaLog.create(await scratchDir(t), 2);
host.imaLog = ima.path;
await extendLogs({ tcti: tpm.tcti, biosLog: BIOS_LOG });
await ima.grow(tpm.tcti, 30);
const firmware = parseFirmwareLog(await readFile(BIOS_LOG));
const imaFixture = await expectedLog<ExpectedImaLog>('ima/acs_imasig.bin');
/** acs_imasig.bin entries logged with a wrong template hash (the source log repeats the fixture). */
const naturallyBad = (i: number) => imaFixture.template_hash_check.mismatch_entry_indexes_0_based.includes(i % imaFixture.entries);

let boots = 0;
/** A boot time the server has not seen: its nonce asks for the full logs. */
const newBootTime = () => `2027-01-01 ${String(Math.floor(++boots / 60)).padStart(2, '0')}:${String(boots % 60).padStart(2, '0')}:00`;
const quoteFor = (n: NonceResponse, who = host) => who.quote(n.nonce, unmarshalPcrSelection(n.pcrselect));

/** The logs a correct request for `n` carries (firmware after `edit`), or those of the host's stored position. */
async function evidence(n?: NonceResponse, edit?: (log: FirmwareLog) => void) {
  const from = n?.imaentry ?? (await host.machine())!.imaevents!;
  return { firmware: n?.biosentry === 0 ? await firmwareWireEvents(edit) : undefined, ima: { from, events: await ima.events(from) } };
}

/**
 * A reboot: the OS's orderly TPM2_Shutdown(CLEAR) (without it every reset counts
 * as a dictionary-attack failure, TPM 2.0 Part 1 §19.8), a TPM reset, and the
 * platform measuring the same boot again under a new boot time.
 */
async function reboot(): Promise<void> {
  const conn = await Tpm.open(tpm.tcti);
  try {
    await shutdown(conn);
  } finally {
    await conn.close();
  }
  await tpm.restart();
  await ima.remeasure(tpm.tcti);
  host.bootTime = newBootTime();
}

const cases: TamperCase[] = [];
const row = (name: string, expect: string, craft: TamperCase['craft'], extra: Partial<TamperCase> = {}) =>
  void cases.push({ name, expect, craft, ...extra });

// --- Nonces: reuse, expiry, another host's, a reset TPM ---------------------------------------------
row('reused nonce: an accepted request captured and replayed', '9000001c', async (t) => {
  const n = await host.nonce();
  const frame = host.request(await quoteFor(n), await evidence(n));
  t.same(await host.send(frame), { response: 'quote' }, 'the original is accepted');
  return frame;
});
row('reused nonce: a fresh quote over a used nonce', '9000001c', async (t) => {
  const n = await host.nonce();
  t.same(await host.send(host.request(await quoteFor(n), await evidence(n))), { response: 'quote' }, 'the first quote is accepted');
  return host.request(await quoteFor(n), await evidence());
});
row('expired nonce (server clock past the 5 min lifetime)', '90000101', async () => {
  const n = await host.nonce();
  const frame = host.request(await quoteFor(n), await evidence(n));
  skewMs += NONCE_TTL_MS + 1000;
  return frame;
});
row('nonce issued to another host', '9000001a', async () => {
  const mine = await host.nonce();
  return host.request(await quoteFor(await other.nonce()), await evidence(mine));
});
row('quote of another host: its genuine quote over its nonce, sent as this host', '90000010', async () =>
  host.request(await quoteFor(await other.nonce(), other), await evidence()));
row('quote of another host: its TPM quoting this host\'s nonce', '90000010', async () => {
  const n = await host.nonce();
  return host.request(await quoteFor(n, other), await evidence(n));
});
row('nonce from before a reboot, quoted after it', '90000020', async () => {
  const n = await host.nonce();
  await reboot();
  return host.request(await quoteFor(n), await evidence(n));
}, { reboot: true });
row('quote held back across a reboot (incremental nonce), delivered after the new boot attested', '90000020', async (t) => {
  const n = await host.nonce();
  const held = host.request(await quoteFor(n), await evidence(n));
  await reboot();
  t.match(await host.attest(), { newBoot: true }, 'the new boot attests in full');
  return held;
});
row('quote held back across a reboot (new-boot nonce, full logs), delivered after the new boot attested', '90000020', async (t) => {
  const n = await host.nonce(newBootTime());
  const held = host.request(await quoteFor(n), await evidence(n));
  await reboot();
  t.match(await host.attest(), { newBoot: true }, 'the new boot attests in full');
  return held;
});

// --- The quote: TPMS_ATTEST bytes, signature, PCR selection (one genuine quote for the byte edits) ---
let genuine: Promise<Quote> | undefined;
const sharedQuote = () => (genuine ??= host.nonce().then((n) => quoteFor(n)));
const altered = (name: string, expect: string, edit: (q: Quote) => Quote) =>
  row(name, expect, async () => host.request(edit(await sharedQuote()), await evidence()));
const field = (f: keyof AttestLayout, at = 0) => (q: Quote): Quote => ({ ...q, quoted: flipped(q.quoted, attestLayout(q.quoted)[f] + at) });
const u16 = (v: number) => Buffer.from([v >> 8, v & 0xff]);

altered('quoted: magic', '9000001f', field('magic'));
altered('quoted: type TPM_ST_ATTEST_QUOTE → TPM_ST_ATTEST_CERTIFY', '90000010', (q) => ({ ...q, quoted: patched(q.quoted, 4, u16(TPM_ST.ATTEST_CERTIFY)) }));
altered('quoted: type not an attestation type', '9000001f', (q) => ({ ...q, quoted: patched(q.quoted, 4, u16(0x8000)) }));
altered('quoted: qualifiedSigner', '90000010', field('qualifiedSigner', 2 + 10));
altered('quoted: extraData', '90000010', field('extraData', 2));
altered('quoted: clockInfo.clock', '90000010', field('clock', 7));
altered('quoted: clockInfo.resetCount', '90000010', field('resetCount', 3));
altered('quoted: clockInfo.restartCount', '90000010', field('restartCount', 3));
altered('quoted: firmwareVersion', '90000010', field('firmwareVersion', 7));
altered('quoted: pcrSelect (PCR 8 dropped)', '90000010', field('pcrSelect', 4 + 3 + 1));
altered('quoted: pcrDigest', '90000010', field('pcrDigest', 2 + 31));
altered('quoted: truncated', '9000001f', (q) => ({ ...q, quoted: q.quoted.subarray(0, -1) }));
altered('quoted: a byte appended', '9000001f', (q) => ({ ...q, quoted: Buffer.concat([q.quoted, Buffer.of(0)]) }));
altered('signature: one bit', '90000010', (q) => ({ ...q, signature: flipped(q.signature, -1) }));
altered('signature: scheme hash SHA-256 → SHA-1', '90000010', (q) => ({ ...q, signature: patched(q.signature, 2, u16(TPM_ALG.SHA1)) }));
altered('signature: scheme RSASSA → RSAPSS', '90000010', (q) => ({ ...q, signature: patched(q.signature, 0, u16(TPM_ALG.RSAPSS)) }));
altered('signature: truncated', '9000001f', (q) => ({ ...q, signature: q.signature.subarray(0, -1) }));
row('signature of another genuine quote by the same AK', '90000010', async () => {
  const n = await host.nonce();
  const mine = await quoteFor(n);
  return host.request({ ...mine, signature: (await sharedQuote()).signature }, await evidence(n));
});
row('PCR selection: the quote covers another selection (PCR 10 in the SHA-1 bank)', '90000014', async () => {
  const n = await host.nonce();
  return host.request(await host.quote(n.nonce, buildPcrSelection([[TPM_ALG.SHA256, FIRMWARE_PCRS], [TPM_ALG.SHA1, [IMA_PCR]]])), await evidence(n));
});
row('PCR selection: the quote covers more than issued (both banks)', '90000014', async () => {
  const n = await host.nonce();
  return host.request(await host.quote(n.nonce, buildPcrSelection([[TPM_ALG.SHA256, ALL_PCRS], [TPM_ALG.SHA1, ALL_PCRS]])), await evidence(n));
});
row('PCR selection: a genuine quote of the usual selection, but the nonce was issued for another', '90000014', async (t) => {
  const policy = server.context.policy;
  const issued = buildPcrSelection([[TPM_ALG.SHA256, [0, 1, 2, 3, 4, 5, 6, 7, IMA_PCR]], [TPM_ALG.SHA1, []]]);
  server.context.policy = { ...policy, pcrSelection: issued, pcrselectHex: marshalPcrSelection(issued).toString('hex') };
  let n: NonceResponse;
  try {
    n = await host.nonce();
  } finally {
    server.context.policy = policy;
  }
  t.same(n.pcrselect, marshalPcrSelection(issued), 'the nonce names the other selection');
  return host.request(await host.quote(n.nonce, policy.pcrSelection), await evidence(n));
});

// --- Firmware log on a new-boot nonce: every event, and the log's shape ------------------------------
const fwRow = (name: string, expect: string, edit: (log: FirmwareLog) => void, extra: Partial<TamperCase> = {}) =>
  row(name, expect, async () => {
    const n = await host.nonce(newBootTime());
    return host.request(await quoteFor(n), await evidence(n, edit));
  }, extra);
const digestEdit = (i: number, alg: number) => (log: FirmwareLog) => {
  const ev = log.events[i]!;
  ev.digests = ev.digests.map((d) => (d.alg === alg ? { ...d, digest: flipped(d.digest, 0) } : d));
};
const dataEdit = (i: number, at: number, value: number) => (log: FirmwareLog) => {
  const ev = log.events[i]!;
  ev.data = patched(ev.data, at, Buffer.of(value));
};
/** The stored bioslog row of event `i` holds the bytes as received: the server records, it does not repair. */
const storedAsSent = (i: number, edit: (log: FirmwareLog) => void) => async (t: Test) => {
  const rows = await host.biosRows((await host.lastAttestation()).id);
  t.equal(rows[i]!.biosEntry, (await firmwareWireEvents(edit))[i]!.toString('hex'), `bioslog row ${i} is the event as sent`);
};

for (const ev of firmware.events) {
  const alg = ev.eventType === EV.NO_ACTION ? TPM_ALG.SHA1 : TPM_ALG.SHA256;
  const name = `firmware event ${ev.index} (${eventTypeName(ev.eventType)}, PCR ${ev.pcrIndex}): ${hashAlgName(alg)} digest altered`;
  if (ev.eventType !== EV.NO_ACTION) fwRow(name, '90000020', digestEdit(ev.index, alg));
  else {
    fwRow(name, 'accepted', digestEdit(ev.index, alg), {
      why: 'EV_NO_ACTION records are never extended (TCG PC Client PFP §10.4.5), so no PCR and no quote covers their digest',
      check: storedAsSent(ev.index, digestEdit(ev.index, alg)),
    });
  }
}
// Spec ID Event03 (PFP §9.4.5.1): "Spec ID Event03\0", platformClass u32, 4 version bytes, count u32, then (algId u16, size u16) LE.
fwRow('Spec ID event data: SHA-256 digest size 32 → 20', '9000001f', dataEdit(0, 30, 20));
fwRow('Spec ID event data: signature no longer "Spec ID Event03"', '9000001f', dataEdit(0, 14, 0x32));
fwRow('firmware event 0 (Spec ID) dropped', '9000001f', (log) => void log.events.shift());
fwRow('firmware event moved to another PCR (event 19: PCR 0 → 8)', '90000020', (log) => void (log.events[19]!.pcrIndex = 8));
fwRow('firmware event retyped EV_NO_ACTION so it is not replayed (event 18)', '90000020', (log) => void (log.events[18]!.eventType = EV.NO_ACTION));
fwRow('firmware event dropped (middle)', '90000020', (log) => void log.events.splice(13, 1));
fwRow('firmware event dropped (last)', '90000020', (log) => void log.events.pop());
fwRow('firmware events reordered within PCR 1 (events 1 and 2)', '90000020', (log) => {
  [log.events[1], log.events[2]] = [log.events[2]!, log.events[1]!];
});
fwRow('firmware events reordered across PCRs (events 3 and 4)', 'accepted', (log) => {
  [log.events[3], log.events[4]] = [log.events[4]!, log.events[3]!];
}, { why: 'each PCR is a chain of its own events; the order between PCRs is not measured (TPM2_PCR_Extend, TPM 2.0 Part 3 §22.2)' });
fwRow('SHA-1 digest of firmware event 19 altered', 'accepted', digestEdit(19, TPM_ALG.SHA1), {
  why: 'the server selects SHA-256 PCR 0-10 and an empty SHA-1 bank (IBM ACS), so no quote covers the SHA-1 digests',
  check: storedAsSent(19, digestEdit(19, TPM_ALG.SHA1)),
});
fwRow('event data of firmware event 18 ("BOOTKERNEL" label) altered', 'accepted', dataEdit(18, 9, 0x58), {
  why: 'skiboot digests the measured kernel, not this label (digest != H(data)), so the label is not evidence',
  check: storedAsSent(18, dataEdit(18, 9, 0x58)),
});

// --- IMA log in an incremental window of WINDOW new events --------------------------------------------
type Numbered = [index: number, wire: Buffer][];
const imaRow = (name: string, expect: string, edit: (w: Numbered) => Numbered, extra: Partial<TamperCase> = {}) =>
  row(name, expect, async () => {
    await ima.grow(tpm.tcti, WINDOW);
    const n = await host.nonce();
    const window: Numbered = (await ima.events(n.imaentry)).map((ev, i) => [n.imaentry + i, ev]);
    const q = await quoteFor(n);
    const b = new QuoteRequestWriter(host.hostname, q.quoted, q.signature);
    b.templateHashAlg(TPM_ALG.SHA1);
    for (const [index, ev] of edit(window)) b.imaEvent(index, ev);
    return frameParts(b.text());
  }, extra);
const atK = (k: number, f: (ev: Buffer) => Buffer) => (w: Numbered): Numbered => w.map(([i, ev], j) => [i, j === k ? f(ev) : ev]);
const renumbered = (w: Numbered, events: Buffer[]): Numbered => events.map((ev, j) => [w[0]![0] + j, ev]);
/** The altered event, plus any acs_imasig.bin entry that is logged with a wrong template hash, is flagged badevent. */
const flagged = (k: number) => async (t: Test) => {
  const a = await host.lastAttestation();
  const expected = [];
  for (let i = a.imaentry; i < a.imaevents!; i++) if (i === a.imaentry + k || naturallyBad(i)) expected.push(i);
  t.same((await host.imaRows(a.id)).filter((r) => r.badevent).map((r) => r.entrynum), expected, 'only the altered event is flagged');
  t.equal(a.badimalog, true);
};

for (let k = 0; k < WINDOW; k++) {
  const which = `IMA event ${k + 1} of ${WINDOW}`;
  imaRow(`${which}: template data altered`, '90000020', atK(k, (ev) => flipped(ev, -1)));
  imaRow(`${which}: extended into PCR 11`, '90000020', atK(k, (ev) => imaWithPcr(ev, 11)));
  imaRow(`${which}: SHA-1 template hash altered`, 'accepted', atK(k, (ev) => flipped(ev, IMA_WIRE.templateHash)), {
    why: 'Linux 5.8+ extends the SHA-256 bank with H(template data), not the SHA-1 template hash; a wrong hash is flagged badevent as IBM does',
    check: flagged(k),
  });
}
imaRow('IMA template hash zeroed: posing as a violation', '90000020', atK(5, (ev) => imaWithTemplateHash(ev, Buffer.alloc(20))));
imaRow('IMA event dropped (middle, renumbered)', '90000020', (w) => renumbered(w, w.filter((_, j) => j !== 10).map(([, ev]) => ev)));
imaRow('IMA event dropped (middle, gap in the numbering)', '90000106', (w) => w.filter((_, j) => j !== 10));
imaRow('IMA event dropped (last)', '90000020', (w) => w.slice(0, -1));
imaRow('IMA event dropped (first: the events start one later)', '90000020', (w) => w.slice(1));
imaRow('IMA events reordered (7 and 8 swapped)', '90000020', (w) => {
  const events = w.map(([, ev]) => ev);
  [events[7], events[8]] = [events[8]!, events[7]!];
  return renumbered(w, events);
});
imaRow('IMA event 13 replaced by a copy of event 12 to hide it', '90000020', (w) => w.map(([i, ev], j) => [i, j === 13 ? w[12]![1] : ev]));

// --- Enrollment frames a network observer captured ---------------------------------------------------
row('enrollcert captured at enrollment, replayed after it succeeded', '90000021', async () => [captured('enrollcert')]);
row('enrollrequest captured at enrollment, replayed under another hostname', '90000022', async () =>
  ({ ...framePayload(captured('enrollrequest')), hostname: 'impostor.test' }));
row('enrollrequest captured at enrollment, replayed under the bystander\'s hostname', '90000022', async () =>
  ({ ...framePayload(captured('enrollrequest')), hostname: other.hostname }));

// --- The runner ----------------------------------------------------------------------------------------
interface Snapshot {
  machines: SqlRow[];
  bios: number;
  ima: number;
}
async function snapshot(): Promise<Snapshot> {
  // The accepted chain: a refused quote's events are kept as evidence apart from it (refused = 1).
  const [counts] = await server.store.driver.all('SELECT (SELECT COUNT(*) FROM bioslog WHERE refused = 0) AS bios, (SELECT COUNT(*) FROM imalog WHERE refused = 0) AS ima');
  return { machines: await machineRows(server.store), bios: Number(counts!.bios), ima: Number(counts!.ima) };
}
const othersOf = (s: Snapshot) => s.machines.filter((m) => m.hostname !== host.hostname);
/** The host's row without the boot position a proven TPM reset clears. */
const withoutBootPosition = ({ imaevents: _, imapcr: _p, imapcrSha1: _s, updatedAt: _u, ...rest }: MachineRow) => rest;

t.test('tamper matrix', async (t) => {
  const baseline = await host.attest();
  t.match(baseline, { newBoot: true, imaEvents: ima.measured }, 'baseline: a full attestation');
  const whitelist = (await host.machine())!.whitelist!;
  let refused = 0;
  let followUps = 0;
  let stateChanges = 0;

  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const request = await c.craft(t);
      const before = await snapshot();
      const hostBefore = (await host.machine())!;
      const outcome = await host.send(request).then(() => 'accepted', (e: unknown) => {
        if (e instanceof AcsError) return formatErrorCode(e.code);
        throw e;
      });
      t.equal(outcome, c.expect, c.why ?? `answered ${c.expect}`);
      const after = await snapshot();
      if (c.expect === 'accepted') {
        t.match(await host.lastAttestation(), { errorCode: null, logverified: true, pcrinvalid: false });
        t.same((await host.lastAttestation()).pcrs!.sha256.slice(0, IMA_PCR), whitelist.sha256.slice(0, IMA_PCR), 'verified firmware PCRs are the genuine ones');
        // The TPM did not restart: whatever boot time the server now holds names this same boot.
        host.bootTime = (await host.machine())!.boottime!;
      } else {
        refused++;
        const hostAfter = (await host.machine())!;
        const unchanged = c.reboot
          ? isDeepStrictEqual(withoutBootPosition(hostAfter), withoutBootPosition(hostBefore)) &&
            isDeepStrictEqual({ ...after, machines: othersOf(after) }, { ...before, machines: othersOf(before) })
          : isDeepStrictEqual(after, before);
        if (!unchanged) stateChanges++;
        t.ok(unchanged, c.reboot ? 'only the boot position changed' : 'machines, bioslog and imalog unchanged', { before, after });
        if (c.reboot) t.match(hostAfter, { imaevents: null, imapcr: null, imapcrSha1: null }, 'the reset TPM\'s old position is dropped');
      }
      await c.check?.(t);

      const position = (await host.machine())!.imaevents;
      await ima.grow(tpm.tcti, 1);
      const next = await host.attest();
      t.match(next, { newBoot: c.reboot === true, retried: false, imaEntry: position ?? 0 }, 'the next attestation resumes from the stored position');
      t.match(await host.lastAttestation(), { errorCode: null, logverified: true, imaevents: ima.measured });
      if ((await host.machine())!.imaevents === ima.measured) followUps++;
    });
  }
  t.equal(followUps, cases.length, 'every follow-up attestation accepted every measured event');
  t.comment(`tamper matrix: ${refused} cases refused, ${followUps} follow-up attestations accepted, ${stateChanges} state changes`);
});
