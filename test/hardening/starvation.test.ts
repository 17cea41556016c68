/**
 * Starvation by parked sockets, with the DEFAULT limits: from one address,
 * 400 connections that send nothing and 100 that trickle a byte every 5 s
 * (slowloris) are held open while a real machine attests 30 times in a row
 * from the same address. Every attestation is answered normally; then the
 * server itself closes the parked sockets — the silent ones at the
 * first-byte deadline, the trickling ones by the minimum rate — each with
 * 90000102 or, when closed for a newer connection, with a log line saying so.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_SERVER_CONFIG } from '../../server/config.js';
import { ensureOpenFiles } from './fd-limit.js';
import { refusal, tally } from './outcome.js';
import { holdOpen, type HeldSocket } from './raw-socket.js';
import { serverFiles, startInProcess } from './server-setup.js';
import { SteppedHost } from './stepped-host.js';

const IDLE = 400;
const TRICKLING = 100;
const ATTESTATIONS = 30;
const TRICKLE_EVERY_MS = 5000;

async function park(port: number, trickle: boolean): Promise<HeldSocket> {
  const held = await holdOpen(port);
  const { socket } = held;
  socket.resume();
  if (trickle) {
    // A frame header declaring 1 MiB, one byte at a time.
    const header = Buffer.from([0, 0x10, 0, 0]);
    let sent = 0;
    const drip = (): void => {
      if (socket.destroyed) return;
      socket.write(header.subarray(sent % 4, (sent % 4) + 1));
      sent++;
      timer.refresh();
    };
    const timer = setTimeout(drip, TRICKLE_EVERY_MS);
    drip();
    void held.closedAt.then(() => clearTimeout(timer));
  }
  return held;
}

t.test(`${IDLE} idle and ${TRICKLING} trickling sockets from one address do not stop ${ATTESTATIONS} attestations from it`, async (t) => {
  ensureOpenFiles(4 * (IDLE + TRICKLING) + 1024);
  const files = await serverFiles(t);
  const srv = await startInProcess(t, files);
  const listener = srv.running.listener;
  const host = new SteppedHost('legit.starvation.test', files.ekCa, 7);
  await host.enroll(srv.ep);

  const parked: HeldSocket[] = [];
  for (let i = 0; i < IDLE; i++) parked.push(await park(srv.ep.port, false));
  for (let i = 0; i < TRICKLING; i++) parked.push(await park(srv.ep.port, true));
  t.teardown(() => parked.forEach((p) => p.socket.destroy()));
  const cap = DEFAULT_SERVER_CONFIG.maxConnectionsPerSource;
  for (let i = 0; i < 200 && listener.connections < cap; i++) await sleep(10);
  t.equal(listener.connections, cap, `the server holds ${cap} of them, the per-source default`);

  const outcomes: (string | null)[] = [];
  for (let i = 0; i < ATTESTATIONS; i++) {
    host.measureFiles(2);
    outcomes.push(await refusal(host.attest(srv.ep)));
  }
  t.same(tally(outcomes), { ok: ATTESTATIONS }, `${ATTESTATIONS} attestations in a row accepted`);
  t.equal(srv.log.requests().filter((l) => l.outcome === '90000103').length, 0, 'nobody was answered "server busy"');
  const stillOpen = parked.filter((p) => !p.socket.destroyed).length;
  t.ok(stillOpen >= cap - 2 * ATTESTATIONS, `${stillOpen} parked sockets were still open while the attestations ran`);

  await Promise.all(parked.map((p) => p.closedAt));
  for (let i = 0; i < 200 && listener.connections > 0; i++) await sleep(10);
  t.equal(listener.connections, 0, 'the server closed every parked socket itself');
  const parkedLines = srv.log.requests().filter((l) => l.command === undefined);
  const reasons = tally(parkedLines.map((l) => String(l.reason).replace(/\d+/g, 'N')));
  t.same(Object.keys(reasons).sort(), [
    'closed for a newer connection: N connections from N.N.N.N (limit N)',
    `no data within N ms`,
    'request slower than N bytes/s (N bytes in N ms)',
  ], 'each closed for room, at the first-byte deadline, or by the minimum rate');
  t.equal(parkedLines.length, IDLE + TRICKLING, 'one log line per parked socket');
  t.comment(`starvation: ${IDLE} idle + ${TRICKLING} trickling sockets, ${ATTESTATIONS} attestations ok; parked sockets closed: ${JSON.stringify(reasons)}`);
});
