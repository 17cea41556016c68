import t from 'tap';
import net from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { ACS_ERROR, AcsError, formatErrorCode } from '../../shared/protocol/errors.js';
import { decodePayload, encodeFrame, type JsonObject } from '../../shared/protocol/frame.js';
import { exchange, readOneFrame } from '../../client/exchange.js';
import { type NonceResponse, parseResponse, serializeRequest } from '../../shared/protocol/messages.js';
import { type Handlers, type ListenerOptions, startListener } from '../../server/listener.js';
import { resolveServerConfig, type ServerConfig } from '../../server/config.js';
import { sourceOf } from '../../server/admission.js';
import { ACS_WIRE_DIR, readWireFrame, readWireJson } from '../helpers/acs-wire.js';
import { readFileSync } from 'node:fs';

const HOST = '127.0.0.1';
const ibmNonce = readWireJson('nonce-response.json');
const nonceResponse: NonceResponse = parseResponse('nonce', ibmNonce);

/** pino writing into an array, so tests can check the one summary line per request. */
function captureLogger(): { logger: ListenerOptions['logger']; lines: JsonObject[] } {
  const lines: JsonObject[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as JsonObject);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const requestLines = (lines: JsonObject[]): JsonObject[] => lines.filter((l) => l.msg === 'request');

interface Reply {
  response?: JsonObject;
  /** Resolves when the server has closed the connection. */
  closed: Promise<void>;
  socket: net.Socket;
}

/** Connect; `send` writes whatever bytes the test wants; read one frame back (or none). */
async function talk(port: number, send: (s: net.Socket) => void | Promise<void>, timeoutMs = 5000): Promise<Reply> {
  const socket = net.connect({ host: HOST, port });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const reading = readOneFrame(socket, { timeoutMs });
  await send(socket);
  const payload = await reading.catch(() => undefined);
  return { response: payload && decodePayload(payload), closed, socket };
}

type Teardown = Pick<typeof t, 'teardown'>;

/** A listener on a free loopback port with the default configuration but for `extra`. */
async function start(tt: Teardown, handlers: Handlers, extra: Partial<ServerConfig> = {}) {
  const { logger, lines } = captureLogger();
  const listener = await startListener({ config: resolveServerConfig({ port: 0, host: HOST, ...extra }), handlers, logger });
  tt.teardown(() => listener.close());
  return { listener, lines };
}

/** Slow requests wait here until gate() lets the oldest one go. */
const gates: (() => void)[] = [];
const gate = (): void => gates.shift()?.();
const handlers: Handlers = {
  nonce: () => nonceResponse,
  enrollcert: (req) => {
    if (req.hostname === 'crash.test') throw new Error('db password hunter2 at 10.0.0.5');
    throw new AcsError(ACS_ERROR.ENROLLED, 'hostname already enrolled');
  },
  quote: async (req) => {
    if (req.hostname === 'slow.test') await new Promise<void>((resolve) => gates.push(resolve));
    return {};
  },
};

t.test('IBM nonce request over TCP gets a nonce response and one log line', async (t) => {
  const { listener, lines } = await start(t, handlers);
  const frame = readWireFrame('nonce-request');
  const r = await talk(listener.port, (s) => { s.write(frame); });
  t.same(r.response, ibmNonce, 'same members and values as IBM\'s response');
  await r.closed;
  const logged = requestLines(lines);
  t.equal(logged.length, 1);
  t.match(logged[0], {
    level: 30, host: HOST, hostname: 'client-rsa.test', command: 'nonce', outcome: 'ok',
    bytesIn: frame.length, bytesOut: encodeFrame(ibmNonce).length,
  });
  t.type(logged[0].durationMs, 'number');
  t.notOk('request' in logged[0], 'frames not logged unless verbose');
});

t.test('validation errors come back with IBM\'s codes', async (t) => {
  const { listener, lines } = await start(t, handlers);
  const cases: [string, Buffer, number][] = [
    ['malformed JSON', encodeFrame(readFileSync(`${ACS_WIRE_DIR}errors/malformed-json-request.txt`, 'utf8')), ACS_ERROR.BAD_JSON],
    ['no command', readWireFrame('no-command-key-request'), ACS_ERROR.BAD_JSON],
    ['unknown command', readWireFrame('unknown-command-request'), ACS_ERROR.UNKNOWN_CMD],
    ['missing member', readWireFrame('nonce-missing-boottime-request'), ACS_ERROR.JSON_KEY],
    ['bad hex', readWireFrame('quote-bad-hex-request'), ACS_ERROR.HEXASCII],
    ['IBM handler error', readWireFrame('enrollcert-already-enrolled-request'), ACS_ERROR.ENROLLED],
  ];
  for (const [name, frame, code] of cases) {
    const r = await talk(listener.port, (s) => { s.write(frame); });
    t.equal(r.response?.error, formatErrorCode(code), name);
    t.type(r.response?.message, 'string', `${name}: message for humans`);
    await r.closed;
  }
  const ibm = readWireJson('errors/malformed-json-response.json');
  t.equal(formatErrorCode(ACS_ERROR.BAD_JSON), ibm.error);
  const outcomes = requestLines(lines).map((l) => l.outcome);
  t.same(outcomes, cases.map(([, , c]) => formatErrorCode(c)), 'one log line each, with the code');
  t.equal(requestLines(lines)[2].hostname, 'client-rsa.test', 'hostname logged even for refused requests');
});

t.test('frame over the limit: 90000001 and closed, without reading the body', async (t) => {
  const { listener, lines } = await start(t, handlers, { maxFrameBytes: 1024 });
  const quote = readWireFrame('quote-request-full');
  const r = await talk(listener.port, (s) => { s.write(quote); });
  t.equal(r.response?.error, '90000001');
  await r.closed;
  t.match(requestLines(lines)[0], { outcome: '90000001' });

  const { listener: big } = await start(t, handlers);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(16 * 1024 * 1024 + 1);
  const r2 = await talk(big.port, (s) => { s.write(header); });
  t.equal(r2.response?.error, '90000001', 'default limit 16 MiB');
  await r2.closed;
});

t.test('internal errors answer 80000031 without details; the log keeps them', async (t) => {
  const { listener, lines } = await start(t, handlers);
  const req = serializeRequest({ command: 'enrollcert', hostname: 'crash.test', challenge: Buffer.alloc(32) });
  const r = await talk(listener.port, (s) => { s.write(encodeFrame(req)); });
  t.equal(r.response?.error, '80000031');
  t.notMatch(JSON.stringify(r.response), /hunter2|10\.0\.0\.5|Error/);
  const line = requestLines(lines)[0];
  t.match(line, { level: 50, outcome: '80000031' });
  t.match(JSON.stringify(line.err), /hunter2/);
});

t.test('a command with no handler is unknown', async (t) => {
  const { listener } = await start(t, { nonce: handlers.nonce });
  const r = await talk(listener.port, (s) => { s.write(readWireFrame('enrollcert-request')); });
  t.equal(r.response?.error, '90000026');
});

t.test('read timeout closes a slow client; idle timeout a silent one', async (t) => {
  const { listener, lines } = await start(t, handlers, { readTimeoutMs: 400, idleTimeoutMs: 250 });
  const frame = readWireFrame('nonce-request');
  const t0 = Date.now();
  // One byte every 100 ms: never idle for 250 ms, but the whole frame would take 12 s.
  const slow = await talk(listener.port, async (s) => {
    for (let i = 0; i < 10 && !s.destroyed; i++) {
      s.write(frame.subarray(i, i + 1));
      await sleep(100);
    }
  });
  t.equal(slow.response?.error, formatErrorCode(ACS_ERROR.FRAME_TIMEOUT));
  await slow.closed;
  t.ok(Date.now() - t0 < 2000, 'closed at the read deadline');

  const silent = await talk(listener.port, () => {});
  t.equal(silent.response?.error, formatErrorCode(ACS_ERROR.FRAME_TIMEOUT));
  await silent.closed;
  t.same(requestLines(lines).map((l) => l.reason), ['request not complete within 400 ms', 'no data within 250 ms']);
});

t.test('client closing before a full request: connection dropped, logged as closed', async (t) => {
  const { listener, lines } = await start(t, handlers);
  const r = await talk(listener.port, (s) => { s.end(readWireFrame('nonce-request').subarray(0, 30)); });
  t.equal(r.response, undefined);
  await r.closed;
  t.match(requestLines(lines)[0], { outcome: 'closed', bytesIn: 30 });
});

t.test('a client that half-closes after its request still gets the response', async (t) => {
  const { listener } = await start(t, handlers);
  const r = await talk(listener.port, (s) => { s.end(readWireFrame('nonce-request')); });
  t.same(r.response, ibmNonce);
});

t.test('beyond max connections the oldest connection without a request is closed, and the newcomer served', async (t) => {
  const N = 3;
  const { listener, lines } = await start(t, handlers, { maxConnections: N });
  const held: Reply['closed'][] = [];
  const sockets: net.Socket[] = [];
  for (let i = 0; i < N; i++) {
    const s = net.connect({ host: HOST, port: listener.port });
    s.on('error', () => {});
    held.push(new Promise<void>((resolve) => s.once('close', () => resolve())));
    sockets.push(s);
    for (let j = 0; j < 100 && listener.connections < i + 1; j++) await sleep(10);
  }
  t.equal(listener.connections, N);
  const answer = await exchange(HOST, listener.port, readWireJson('nonce-request.json'));
  t.same(answer, ibmNonce, 'the new connection is served');
  await held[0];
  t.match(requestLines(lines)[0], { outcome: 'closed', reason: `closed for a newer connection: ${N} connections held (limit ${N})`, bytesIn: 0 }, 'the oldest was closed, without an answer, and logged');
  const frame = readWireFrame('nonce-request');
  const answers = await Promise.all(sockets.slice(1).map((s) => {
    const reading = readOneFrame(s, { timeoutMs: 5000 });
    s.write(frame);
    return reading.then(decodePayload);
  }));
  t.same(answers, Array(N - 1).fill(ibmNonce), 'the other held connections are unaffected');
  t.notOk(lines.some((l) => l.outcome === '90000103'), 'nobody was told the server is busy');
  for (const s of sockets) s.destroy();
});

t.test('per source: the oldest idle connection from the same address makes room; one with a request in progress never does', async (t) => {
  const { listener, lines } = await start(t, handlers, { maxConnectionsPerSource: 2 });
  // Two requests in progress from this address: neither may be closed for room.
  const busy = [1, 2].map(() => exchange(HOST, listener.port, { ...readWireJson('quote-request-incremental.json'), hostname: 'slow.test' }));
  for (let i = 0; i < 100 && gates.length < 2; i++) await sleep(10);
  const third = await talk(listener.port, () => {});
  t.equal(third.response, undefined, 'a third connection gets no room and no answer');
  await third.closed;
  t.match(requestLines(lines).find((l) => l.outcome === 'closed'), { reason: 'no room: every connection held from 127.0.0.1 has a request in progress' });
  gate();
  gate();
  t.same(await Promise.all(busy), [{ response: 'quote' }, { response: 'quote' }], 'the requests in progress were answered');
});

t.test('90000103 only when the work queue is full: running and queued requests are answered', async (t) => {
  const { listener, lines } = await start(t, handlers, { maxRequests: 1, maxQueuedRequests: 1 });
  const slow = { ...readWireJson('quote-request-incremental.json'), hostname: 'slow.test' };
  const running = exchange(HOST, listener.port, slow);
  for (let i = 0; i < 100 && gates.length < 1; i++) await sleep(10);
  const queued = exchange(HOST, listener.port, readWireJson('nonce-request.json'));
  for (let i = 0; i < 100 && listener.requests < 2; i++) await sleep(10);
  t.equal(listener.requests, 2, 'one request running, one queued');
  const refused = await exchange(HOST, listener.port, readWireJson('nonce-request.json')).catch((e: unknown) => e);
  t.ok(refused instanceof AcsError && refused.code === ACS_ERROR.TOO_MANY_CONNECTIONS, 'the third whole request is answered 90000103');
  t.match(requestLines(lines)[0], { outcome: '90000103', command: undefined, reason: 'server busy, retry later', level: 40 });
  gate();
  t.same(await running, { response: 'quote' }, 'the running request is answered');
  t.same(await queued, ibmNonce, 'the queued one too, in its turn');
});

t.test('a slow handler does not block other connections', async (t) => {
  const { listener } = await start(t, handlers);
  const order: string[] = [];
  const slowReq = { ...readWireJson('quote-request-incremental.json'), hostname: 'slow.test' };
  const slow = exchange(HOST, listener.port, slowReq).then((r) => { order.push('slow'); return r; });
  await sleep(50);
  const fast = await exchange(HOST, listener.port, readWireJson('nonce-request.json'));
  order.push('fast');
  t.same(fast, ibmNonce);
  gate();
  t.same(await slow, { response: 'quote' });
  t.same(order, ['fast', 'slow']);
});

t.test('verbose logs the frames in the same single line, with secrets redacted', async (t) => {
  const { listener, lines } = await start(t, handlers, { verbose: true });
  const req = { ...readWireJson('nonce-request.json'), privateKey: 'SECRET-PK', caKey: 'SECRET-CA' };
  await exchange(HOST, listener.port, req);
  await sleep(20);
  const logged = requestLines(lines);
  t.equal(logged.length, 1);
  t.match(logged[0], { request: { hostname: 'client-rsa.test', privateKey: '[redacted]', caKey: '[redacted]' } });
  t.match(logged[0], { response: { response: 'nonce', nonce: ibmNonce.nonce } });
  t.notMatch(JSON.stringify(lines), /SECRET-/);
});

t.test('close() stops accepting and drops connections waiting for a request', async (t) => {
  const { logger } = captureLogger();
  const listener = await startListener({ config: resolveServerConfig({ port: 0, host: HOST }), handlers, logger });
  const idle = net.connect({ host: HOST, port: listener.port });
  idle.on('error', () => {});
  const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
  for (let i = 0; i < 100 && listener.connections < 1; i++) await sleep(10);
  await listener.close();
  await idleClosed;
  const err = await exchange(HOST, listener.port, readWireJson('nonce-request.json')).catch((e: unknown) => e);
  t.match(String(err), /ServerUnreachableError|ECONNREFUSED/);
});

t.test('a trickle slower than --min-request-rate is cut at the end of a rate window', async (t) => {
  const { listener, lines } = await start(t, handlers, { minRequestRate: 100 });
  const frame = readWireFrame('nonce-request');
  // 10 bytes a second, never silent for long, far below 100 bytes/s.
  const slow = await talk(listener.port, async (s) => {
    for (let i = 0; i < frame.length && !s.destroyed; i++) {
      s.write(frame.subarray(i, i + 1));
      await sleep(100);
    }
  }, 20_000);
  t.equal(slow.response?.error, formatErrorCode(ACS_ERROR.FRAME_TIMEOUT));
  t.match(requestLines(lines)[0], { outcome: '90000102', reason: /^request slower than 100 bytes\/s \(\d+ bytes in 5000 ms\)$/ });
});

t.test('a connection that sends nothing is closed at --first-byte-timeout, before --idle-timeout', async (t) => {
  const { listener, lines } = await start(t, handlers, { firstByteTimeoutMs: 200, idleTimeoutMs: 60_000 });
  const silent = await talk(listener.port, () => {});
  t.equal(silent.response?.error, formatErrorCode(ACS_ERROR.FRAME_TIMEOUT));
  t.match(requestLines(lines)[0], { outcome: '90000102', reason: 'no data within 200 ms' });
});

t.test('sources: IPv4 addresses, IPv4-mapped ones, IPv6 by /64', async (t) => {
  t.equal(sourceOf('192.0.2.7'), '192.0.2.7');
  t.equal(sourceOf('::ffff:192.0.2.7'), '192.0.2.7');
  t.equal(sourceOf('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  t.equal(sourceOf('2001:db8:1:2::99'), '2001:db8:1:2::/64');
  t.equal(sourceOf('2001:0db8:0001:0003::1'), '2001:db8:1:3::/64');
  t.equal(sourceOf('::1'), '0:0:0:0::/64');
});

t.test('server config: documented defaults, overrides, bounds named by their flag', async (t) => {
  const c = resolveServerConfig({ port: 0, maxConnections: 5, maxImaEvents: 10 });
  t.match(c, {
    host: '0.0.0.0', port: 0, verbose: false,
    maxFrameBytes: 16 * 1024 * 1024, readTimeoutMs: 60_000, idleTimeoutMs: 15_000, maxConnections: 5,
    maxEvents: 1024, maxImaEvents: 10, maxEventBytes: 1024 * 1024,
    webHost: '127.0.0.1', webPort: 8080, staleAfterMs: 24 * 3_600_000,
  });
  t.equal(resolveServerConfig().port, 2323);
  t.throws(() => resolveServerConfig({ maxConnections: 0 }), { name: 'ConfigError', message: '--max-connections must be at least 1, got 0' });
  t.throws(() => resolveServerConfig({ maxEventBytes: 1.5 }), { name: 'ConfigError', message: /^--max-event-bytes must be a whole number/ });
  t.throws(() => resolveServerConfig({ port: 70000 }), { name: 'ConfigError', message: '--port must be from 0 to 65535, got 70000' });
  t.throws(() => resolveServerConfig({ tlsPort: 2324 }), { name: 'ConfigError', message: '--tls-port, --tls-cert and --tls-key go together' });
  t.throws(() => resolveServerConfig({ tlsCert: 'c.pem', tlsKey: 'k.pem' }), { message: '--tls-port, --tls-cert and --tls-key go together' });
  t.throws(() => resolveServerConfig({ tlsPort: 70000, tlsCert: 'c.pem', tlsKey: 'k.pem' }), { message: '--tls-port must be from 0 to 65535, got 70000' });
  t.throws(() => resolveServerConfig({ maxBufferedBytes: 1024 }), { message: '--max-buffered-bytes must be at least --max-frame-bytes (16777216), got 1024' });
  t.throws(() => resolveServerConfig({ readTimeoutMs: 0 }), { message: '--read-timeout must be at least 0.001 s, got 0' });
});
