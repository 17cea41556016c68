/**
 * The listener's limits over a real server and the quote path: a genuine
 * attestation request sent to a server with one small limit is answered
 * with that limit's code and a warn log line, and changes nothing — the
 * very same request is then accepted by a server with default limits
 * sharing the database, so the nonce was left unused. (test/server/
 * listener.test.ts covers the same codes with stub handlers.)
 */
import t, { type Test } from 'tap';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodePayload, encodeFrame, type JsonObject } from '../../shared/protocol/frame.js';
import { readOneFrame } from '../../client/exchange.js';
import { parseResponse, serializeRequest, type QuoteRequest } from '../../shared/protocol/messages.js';
import type { LogLine } from './log-capture.js';
import { refusal } from './outcome.js';
import { rawConnect } from './raw-socket.js';
import { attestationByNonce, tableCounts } from './row-audit.js';
import { serverFiles, startInProcess, type InProcessOptions, type InProcessServer } from './server-setup.js';
import { SteppedHost, type Issued } from './stepped-host.js';

const files = await serverFiles(t);
const lenient = await startInProcess(t, files);
const strict = (opts: InProcessOptions): Promise<InProcessServer> => startInProcess(t, files, { store: lenient.store, ...opts });
const figures: string[] = [];
let variant = 100;

/** An enrolled machine; `attested` also gives it a first full attestation, so its next one is incremental. */
async function machine(name: string, attested: boolean, bootFiles = 4): Promise<SteppedHost> {
  const host = new SteppedHost(`${name}.limits.test`, files.ekCa, variant++, 'ecc', bootFiles);
  await host.enroll(lenient.ep);
  if (attested) await host.attest(lenient.ep);
  return host;
}

/** A genuine quote request for a nonce from the lenient server. */
async function quoteRequest(host: SteppedHost): Promise<{ issued: Issued; req: QuoteRequest; frame: Buffer }> {
  const issued = await host.nonce(lenient.ep);
  const req = host.request(host.quote(issued));
  return { issued, req, frame: SteppedHost.frame(req) };
}

async function snapshot(host: SteppedHost, issued: Issued): Promise<unknown> {
  return {
    counts: await tableCounts(lenient.driver),
    attestation: await attestationByNonce(lenient.driver, issued.nonceHex),
    machine: await lenient.store.getMachine(host.hostname),
  };
}

/**
 * The refusal left no trace: rows as they were, and the same request is
 * accepted by the lenient server with the same nonce.
 */
async function unchangedThenAccepted(t: Test, host: SteppedHost, issued: Issued, before: unknown, req: QuoteRequest): Promise<void> {
  t.same(await snapshot(host, issued), before, 'no row changed; the nonce is still unused');
  t.equal(await refusal(host.send(lenient.ep, req)), null, 'the same request is then accepted with the same nonce');
}

function warned(lines: LogLine[], outcome: string): LogLine | undefined {
  return lines.find((l) => l.outcome === outcome && l.level === 40);
}

/** Writes `frame` on an open connection and reads the one response. */
async function ask(socket: net.Socket, frame: Buffer): Promise<JsonObject> {
  const reading = readOneFrame(socket, { timeoutMs: 10_000 });
  socket.write(frame);
  return decodePayload(await reading);
}

/** Sends `frame` `chunk` bytes every `everyMs` ms, or only its first `silentAfter` bytes and then nothing; returns the answer. */
async function slowUpload(port: number, frame: Buffer, opts: { chunk: number; everyMs: number; silentAfter?: number }): Promise<JsonObject | undefined> {
  const socket = await rawConnect(port);
  let answered = false;
  const reading = readOneFrame(socket, { timeoutMs: 10_000 }).then(decodePayload, () => undefined).finally(() => { answered = true; });
  const end = Math.min(frame.length, opts.silentAfter ?? frame.length);
  for (let sent = 0; !answered && sent < end; sent += opts.chunk) {
    socket.write(frame.subarray(sent, Math.min(end, sent + opts.chunk)));
    await sleep(opts.everyMs);
  }
  const answer = await reading;
  socket.destroy();
  return answer;
}

t.test('frame over maxFrameBytes: 90000001', async (t) => {
  const srv = await strict({ maxFrameBytes: 4096 });
  const host = await machine('frame', false);
  const { issued, req, frame } = await quoteRequest(host);
  t.ok(frame.length > 4096, `the full quote is ${frame.length} bytes`);
  const before = await snapshot(host, issued);
  t.equal(await refusal(host.send(srv.ep, req)), '90000001');
  t.match(await srv.log.waitFor((l) => l.outcome === '90000001'), { level: 40, reason: `frame length ${frame.length - 4} exceeds the limit of 4096 bytes` });
  await unchangedThenAccepted(t, host, issued, before, req);
  figures.push(`90000001 (${frame.length}-byte quote > 4096)`);
});

t.test('read and idle timeouts: 90000102', async (t) => {
  const srv = await strict({ readTimeoutMs: 1000, idleTimeoutMs: 600 });
  const host = await machine('slow', true);
  host.measureFiles(3);
  const { issued, req, frame } = await quoteRequest(host);
  const before = await snapshot(host, issued);
  const started = Date.now();
  const dripped = await slowUpload(srv.ep.port, frame, { chunk: 16, everyMs: 150 });
  const elapsed = Date.now() - started;
  t.equal(dripped?.error, '90000102', 'a client that never stops but never finishes');
  t.ok(elapsed >= 1000 && elapsed < 2500, `cut at the read deadline (${elapsed} ms)`);
  const silent = await slowUpload(srv.ep.port, frame, { chunk: 64, everyMs: 10, silentAfter: Math.floor(frame.length / 2) });
  t.equal(silent?.error, '90000102', 'a client that stops sending half way');
  const reasons = srv.log.requests().filter((l) => l.outcome === '90000102' && l.level === 40).map((l) => l.reason);
  t.same(reasons, ['request not complete within 1000 ms', 'no data within 600 ms'], 'each logged with its reason');
  await unchangedThenAccepted(t, host, issued, before, req);
  figures.push(`90000102 (drip cut at ${elapsed} ms by the 1000 ms read deadline; silence by the 600 ms idle timeout)`);
});

t.test('max connections: the oldest idle connection makes room, the others then carry a nonce and a quote', async (t) => {
  const srv = await strict({ maxConnections: 2 });
  const host = await machine('busy', true);
  host.measureFiles(2);
  const held = [await rawConnect(srv.ep.port), await rawConnect(srv.ep.port)];
  t.teardown(() => held.forEach((s) => s.destroy()));
  const oldestClosed = new Promise<void>((resolve) => held[0]!.once('close', () => resolve()));
  for (let i = 0; i < 200 && srv.running.listener.connections < 2; i++) await sleep(10);
  const extra = await rawConnect(srv.ep.port);
  t.teardown(() => extra.destroy());
  await oldestClosed;
  t.match(await srv.log.waitFor((l) => l.outcome === 'closed'), { level: 40, bytesIn: 0, reason: 'closed for a newer connection: 2 connections held (limit 2)' },
    'the oldest connection, still without a request, was closed for the third and logged');

  const nonce = parseResponse('nonce', await ask(held[1]!, encodeFrame(serializeRequest({
    command: 'nonce', hostname: host.hostname, userid: 'hardening', boottime: host.boottime,
  }))));
  const issued: Issued = { ...nonce, nonceHex: nonce.nonce.toString('hex') };
  const quoted = await ask(extra, SteppedHost.frame(host.request(host.quote(issued))));
  t.same(quoted, { response: 'quote' }, 'the other two connections then carry a nonce and a quote');
  const row = await attestationByNonce(lenient.driver, issued.nonceHex);
  t.match(row, { errorCode: null, imaevents: host.ima.length }, 'and the attestation is stored');
  figures.push('max connections (3rd of 2 closes the oldest idle one; the 2 left then served nonce + quote)');
});

t.test('too many events: 90000104', async (t) => {
  const srv = await strict({ maxEvents: 20, maxImaEvents: 3 });
  const host = await machine('many', false, 1);
  const full = await quoteRequest(host);
  t.ok(full.req.events.length > 20 && full.req.imaevents.length <= 3, `${full.req.events.length} firmware events, ${full.req.imaevents.length} IMA`);
  let before = await snapshot(host, full.issued);
  t.equal(await refusal(host.send(srv.ep, full.req)), '90000104', 'firmware events over maxEvents');
  await unchangedThenAccepted(t, host, full.issued, before, full.req);

  host.measureFiles(5);
  const next = await quoteRequest(host);
  before = await snapshot(host, next.issued);
  t.equal(await refusal(host.send(srv.ep, next.req)), '90000104', `${next.req.imaevents.length} IMA events over maxImaEvents`);
  await unchangedThenAccepted(t, host, next.issued, before, next.req);
  const logged = srv.log.requests().filter((l) => l.outcome === '90000104' && l.level === 40 && l.hostname === host.hostname);
  t.equal(logged.length, 2, 'both logged with the hostname');
  figures.push(`90000104 (${full.req.events.length} > 20 firmware events, ${next.req.imaevents.length} > 3 IMA events)`);
});

t.test('event too large: 90000105', async (t) => {
  const srv = await strict({ maxEventBytes: 100 });
  const host = await machine('large', true);
  host.measureFiles(2);
  const { issued, req } = await quoteRequest(host);
  const largest = Math.max(...req.imaevents.map((e) => e.length));
  t.ok(largest > 100, `IMA events of up to ${largest} bytes`);
  const before = await snapshot(host, issued);
  t.equal(await refusal(host.send(srv.ep, req)), '90000105');
  t.match(warned(srv.log.requests(), '90000105'), { hostname: host.hostname, reason: /over 100 bytes/ }, 'logged with the member and the limit');
  await unchangedThenAccepted(t, host, issued, before, req);
  figures.push(`90000105 (${largest}-byte IMA event > 100)`);
});

t.test('summary', async (t) => {
  t.equal(figures.length, 5);
  t.comment(`limits: ${figures.join(', ')}; each answered and logged, no row changed, the same request then accepted with its nonce`);
});
