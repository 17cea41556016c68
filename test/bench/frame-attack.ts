/**
 * Memory under declared-but-unsent frames, in a server process of its own
 * (so its peak RSS is this attack's alone): CONNECTIONS sockets each declare
 * a 16 MiB frame and send all of it but the last byte. Reported: the
 * server's RSS before, its peak while the request-byte budget is full, and
 * its RSS once the sockets are gone, beside the budget and the bytes the
 * listener held at most. test/hardening/frame-memory.test.ts asserts the
 * bound; this records the figures.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Endpoint } from './bench-host.js';
import type { BenchServer } from './server-handle.js';

export interface FrameAttackResult {
  connections: number;
  declaredBytes: number;
  budgetBytes: number;
  baselineRssBytes: number;
  peakRssBytes: number;
  /** RSS a few seconds after the attacking sockets closed. */
  rssAfterBytes: number;
  peakHeldBytes: number;
}

const CONNECTIONS = 64;
const DECLARED = 16 * 2 ** 20;

async function waitFor(done: () => Promise<boolean>, ms: number): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end && !(await done()); ) await sleep(100);
}

export async function frameAttack(server: BenchServer, ep: Endpoint, budgetBytes: number): Promise<FrameAttackResult> {
  const baseline = await server.memory();
  const header = Buffer.alloc(4);
  header.writeUInt32BE(DECLARED);
  const body = Buffer.alloc(DECLARED - 1, 0x20);
  const sockets: net.Socket[] = [];
  try {
    for (let i = 0; i < CONNECTIONS; i++) {
      const s = net.connect(ep);
      s.on('error', () => {});
      s.write(header);
      s.write(body);
      sockets.push(s);
    }
    const fill = Math.min(Math.floor(budgetBytes / DECLARED), CONNECTIONS) * (DECLARED + 3);
    await waitFor(async () => (await server.memory()).requestBytes.peakHeldBytes >= fill, 60_000);
  } finally {
    for (const s of sockets) s.destroy();
  }
  const peak = await server.memory();
  await waitFor(async () => (await server.memory()).connections === 0, 30_000);
  await sleep(3000);
  const after = await server.memory();
  return {
    connections: CONNECTIONS,
    declaredBytes: DECLARED,
    budgetBytes,
    baselineRssBytes: baseline.rssBytes,
    peakRssBytes: peak.maxRssBytes,
    rssAfterBytes: after.rssBytes,
    peakHeldBytes: peak.requestBytes.peakHeldBytes,
  };
}
