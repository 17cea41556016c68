/**
 * Memory under declared-but-unsent frames, with the DEFAULT limits: 64
 * connections each declare a 16 MiB frame and send all of it but the last
 * byte. The server never holds more request bytes than its buffer budget
 * (plus one socket chunk per waiting connection), a small request is still
 * answered during the attack, a large legitimate one waits for room and is
 * answered once the attackers go, every byte is given back when the
 * connections end, and this process's peak RSS stays far below the 1 GiB the
 * frames declare.
 */
import t from 'tap';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { exchange } from '../../client/exchange.js';
import { DEFAULT_SERVER_CONFIG, resolveServerConfig } from '../../server/config.js';
import { startListener } from '../../server/listener.js';
import { SMALL_FRAME_BYTES } from '../../server/buffer-budget.js';
import { parseResponse } from '../../shared/protocol/messages.js';
import { readWireJson } from '../helpers/acs-wire.js';
import { ensureOpenFiles } from './fd-limit.js';

const ATTACKERS = 64;
const MIB = 1024 * 1024;
const DECLARED = 16 * MIB;

/** A line of /proc/self/status, in bytes (VmRSS now, VmHWM the peak). */
function procStatusBytes(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m![1]) * 1024;
}

async function until(done: () => boolean, what: string, ms = 120_000): Promise<void> {
  for (const end = Date.now() + ms; !done(); await sleep(20)) if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
}

t.test(`${ATTACKERS} frames declaring ${DECLARED / MIB} MiB, all but the last byte sent`, async (t) => {
  ensureOpenFiles(4 * ATTACKERS + 1024);
  const config = resolveServerConfig({ port: 0, host: '127.0.0.1' });
  const ibmNonce = readWireJson('nonce-response.json');
  const listener = await startListener({
    config,
    handlers: { nonce: () => parseResponse('nonce', ibmNonce) },
    logger: pino({ level: 'silent' }),
  });
  t.teardown(() => listener.close());
  const budget = DEFAULT_SERVER_CONFIG.maxBufferedBytes;
  const bound = budget + ATTACKERS * SMALL_FRAME_BYTES;

  const body = Buffer.alloc(DECLARED - 1, 0x20);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(DECLARED);
  global.gc?.();
  const rssBefore = procStatusBytes('VmRSS');

  const attackers: net.Socket[] = [];
  t.teardown(() => attackers.forEach((s) => s.destroy()));
  for (let i = 0; i < ATTACKERS; i++) {
    const s = net.connect({ host: '127.0.0.1', port: listener.port });
    s.on('error', () => {});
    s.write(header);
    s.write(body);
    attackers.push(s);
  }
  const fit = Math.floor(budget / DECLARED);
  await until(() => listener.connections === ATTACKERS && listener.memory.heldBytes >= fit * (DECLARED + 3), `${fit} frames fully buffered`);
  t.equal(listener.memory.reservedBytes, fit * DECLARED, `${fit} frames hold the whole budget of ${budget / MIB} MiB; the other ${ATTACKERS - fit} wait`);
  t.ok(listener.memory.heldBytes <= bound, `held ${(listener.memory.heldBytes / MIB).toFixed(1)} MiB ≤ budget + one chunk per connection`);

  const small = await exchange('127.0.0.1', listener.port, readWireJson('nonce-request.json'));
  t.same(small, ibmNonce, 'a small request is answered during the attack');
  const large = exchange('127.0.0.1', listener.port, { ...readWireJson('nonce-request.json'), padding: 'x'.repeat(MIB) });
  await sleep(200);
  t.equal(listener.memory.reservedBytes, fit * DECLARED, 'a large legitimate frame waits for room');

  for (const s of attackers) s.destroy();
  t.same(await large, ibmNonce, 'and is answered once the attackers are gone');
  await until(() => listener.connections === 0, 'every connection closed');
  t.same({ held: listener.memory.heldBytes, reserved: listener.memory.reservedBytes }, { held: 0, reserved: 0 }, 'every byte given back when the connections ended');
  t.ok(listener.memory.peakHeldBytes <= bound, `peak held ${(listener.memory.peakHeldBytes / MIB).toFixed(1)} MiB ≤ ${(bound / MIB).toFixed(0)} MiB`);
  const grown = procStatusBytes('VmHWM') - rssBefore;
  t.ok(grown < 3 * budget, `peak RSS grew ${(grown / MIB).toFixed(0)} MiB, under 3 × the budget (the frames declared ${(ATTACKERS * DECLARED) / MIB} MiB)`);
  t.comment(`frame-memory: ${ATTACKERS} × ${DECLARED / MIB} MiB declared; peak held ${(listener.memory.peakHeldBytes / MIB).toFixed(1)} MiB, peak RSS +${(grown / MIB).toFixed(0)} MiB`);
});
