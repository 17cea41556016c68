/**
 * Held-open connections: 2,000 clients connect and send nothing while 100
 * machines attest in parallel, all from one address. The listener's caps
 * are high enough for both (4096 connections, from one source too), the
 * attestations all succeed with the idle connections still held, and then
 * the first-byte deadline answers every idle connection 90000102, logs it,
 * and closes it.
 */
import t from 'tap';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodePayload } from '../../shared/protocol/frame.js';
import { readOneFrame } from '../../client/exchange.js';
import { createFleet, runPrefix } from '../bench/fleet.js';
import { ensureOpenFiles } from './fd-limit.js';
import { refusal, tally } from './outcome.js';
import { holdOpen, type HeldSocket } from './raw-socket.js';
import { serverFiles, startInProcess } from './server-setup.js';
import { IMA_PROFILE } from './stepped-host.js';

const HELD = 2000;
const ATTESTERS = 100;
const IDLE_MS = 6000;
/** Connects in flight at once: below the listen backlog (511), so the accept queue never overflows. */
const CONNECT_WINDOW = 400;

interface IdleClient extends HeldSocket {
  /** What the server sent before closing: the error code, or null for nothing. */
  answer: Promise<string | null>;
}

async function connectIdle(port: number): Promise<IdleClient> {
  const held = await holdOpen(port);
  const { socket } = held;
  const answer = readOneFrame(socket, { timeoutMs: IDLE_MS * 5 }).then(
    (payload) => {
      socket.destroy();
      return String(decodePayload(payload).error);
    },
    () => null,
  );
  return { ...held, answer };
}

/** Opens `count` idle connections, CONNECT_WINDOW at a time; a lost SYN (retried after 1 s) delays only its own slot. */
async function connectMany(port: number, count: number): Promise<IdleClient[]> {
  const out: IdleClient[] = [];
  let started = 0;
  const slot = async (): Promise<void> => {
    while (started < count) {
      started++;
      out.push(await connectIdle(port));
    }
  };
  await Promise.all(Array.from({ length: CONNECT_WINDOW }, slot));
  return out;
}

t.test(`${HELD} idle connections held while ${ATTESTERS} machines attest`, async (t) => {
  const limit = ensureOpenFiles(2 * HELD + 1024);
  const files = await serverFiles(t);
  const srv = await startInProcess(t, files, { maxConnections: 4096, maxConnectionsPerSource: 4096, firstByteTimeoutMs: IDLE_MS, idleTimeoutMs: IDLE_MS });
  const listener = srv.running.listener;
  const fleet = createFleet({ ca: files.ekCa, count: ATTESTERS, prefix: runPrefix(), akMode: 'mixed', rsaEvery: 50, ima: IMA_PROFILE, bootImaFiles: 5 });
  t.same(tally(await Promise.all(fleet.map((h) => refusal(h.enroll(srv.ep).then(() => h.attest(srv.ep)))))), { ok: ATTESTERS }, 'fleet enrolled and attested once');

  const openedFrom = performance.now();
  const idle = await connectMany(srv.ep.port, HELD);
  const openedAt = performance.now();
  for (let i = 0; i < 300 && listener.connections < HELD; i++) await sleep(10);
  t.equal(listener.connections, HELD, `the server holds all ${HELD} idle connections`);
  let closedEarly = 0;
  for (const c of idle) void c.closedAt.then(() => closedEarly++);

  for (const h of fleet) h.measureFiles(3);
  const results = await Promise.all(fleet.map((h) => refusal(h.attest(srv.ep))));
  const attestedAt = performance.now();
  t.same(tally(results), { ok: ATTESTERS }, `${ATTESTERS} attestations accepted beside them`);
  t.equal(closedEarly, 0, `no idle connection closed before the attestations were done (${Math.round(attestedAt - openedAt)} ms after the last connected)`);
  t.ok(attestedAt - openedFrom < IDLE_MS, 'the attestations finished within the idle timeout of the first held connection');

  const answers = await Promise.all(idle.map((c) => c.answer));
  const closedAt = await Promise.all(idle.map((c) => c.closedAt));
  t.same(tally(answers), { '90000102': HELD }, 'each idle connection answered 90000102 before it was closed');
  const firstClose = Math.min(...closedAt) - openedFrom;
  const lastClose = Math.max(...closedAt) - openedAt;
  t.ok(firstClose >= IDLE_MS - 50, `none closed before ${IDLE_MS} ms of silence (first after ${Math.round(firstClose)} ms)`);
  t.ok(lastClose < IDLE_MS + 3000, `all closed soon after (last ${Math.round(lastClose)} ms after the last connected)`);
  for (let i = 0; i < 300 && listener.connections > 0; i++) await sleep(10);
  t.equal(listener.connections, 0, 'the server holds none of them afterwards');
  const timeouts = srv.log.requests().filter((l) => l.outcome === '90000102');
  t.equal(timeouts.length, HELD, 'one log line per idle connection');
  t.match(timeouts[0], { level: 40, reason: `no data within ${IDLE_MS} ms`, bytesIn: 0 });

  const okLines = srv.log.requests().filter((l) => l.outcome === 'ok').length;
  t.equal(okLines, ATTESTERS * 6, 'each enrollment (2 requests) and attestation (2 requests) logged ok');
  t.comment(`held-open: ${HELD} idle connections held (connected in ${Math.round(openedAt - openedFrom)} ms, fd limit ${limit.soft}), ${ATTESTERS} attestations ok in ` +
    `${Math.round(attestedAt - openedAt)} ms beside them, all ${HELD} closed by the ${IDLE_MS} ms idle timeout with 90000102 ` +
    `(first ${Math.round(firstClose)} ms, last ${Math.round(lastClose + openedAt - openedFrom)} ms after connecting began)`);
});
