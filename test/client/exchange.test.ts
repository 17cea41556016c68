import t from 'tap';
import net from 'node:net';
import { ACS_ERROR, AcsError } from '../../shared/protocol/errors.js';
import { FrameDecoder, FrameTooLargeError, decodePayload } from '../../shared/protocol/frame.js';
import { ConnectionClosedError, ResponseTimeoutError, ServerUnreachableError, exchange } from '../../client/exchange.js';
import { parseResponse } from '../../shared/protocol/messages.js';
import { readWireFrame, readWireJson } from '../helpers/acs-wire.js';

type TapTest = Pick<typeof t, 'teardown'>;

/**
 * A one-shot TCP peer standing in for IBM's server: it records the request
 * frame it receives and answers with `reply` (raw bytes), or not at all.
 */
async function ibmPeer(t: TapTest, reply: (req: Buffer, socket: net.Socket) => void): Promise<{ port: number; requests: Buffer[] }> {
  const requests: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const decoder = new FrameDecoder();
    socket.on('error', () => {});
    socket.on('data', (c) => decoder.push(c, (p) => {
      requests.push(p);
      reply(p, socket);
    }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const s of sockets) s.destroy();
  }));
  return { port: (server.address() as net.AddressInfo).port, requests };
}

t.test('exchange sends one NUL-terminated frame and returns IBM\'s response', async (t) => {
  const peer = await ibmPeer(t, (_req, socket) => socket.end(readWireFrame('nonce-response')));
  const request = readWireJson('nonce-request.json');
  const response = await exchange('127.0.0.1', peer.port, request);
  t.same(response, readWireJson('nonce-response.json'));
  t.same(decodePayload(peer.requests[0]), request);
  const nonce = parseResponse('nonce', response);
  t.equal(nonce.nonce.toString('hex'), '6e1bdac1aee8f1c3b144998b4d6f8c1ccf2291c509e6d8f42d08faa9b496b5e3');
});

t.test('an IBM error response rejects with its AcsError', async (t) => {
  const peer = await ibmPeer(t, (_req, socket) => socket.end(readWireFrame('quote-without-nonce-response')));
  const err = await exchange('127.0.0.1', peer.port, readWireJson('errors/quote-without-nonce-request.json')).catch((e: unknown) => e);
  t.type(err, AcsError);
  t.equal((err as AcsError).code, ACS_ERROR.NONCE_MISSING);
  t.equal((err as AcsError).message, 'no nonce was issued for this host');
});

t.test('nothing listening: ServerUnreachableError', async (t) => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const err = await exchange('127.0.0.1', port, { command: 'nonce' }).catch((e: unknown) => e);
  t.type(err, ServerUnreachableError);
  t.match((err as ServerUnreachableError).message, /ECONNREFUSED/);
  t.equal((err as ServerUnreachableError).port, port);
});

t.test('silent server: ResponseTimeoutError after the read timeout', async (t) => {
  const peer = await ibmPeer(t, () => {});
  const t0 = Date.now();
  const err = await exchange('127.0.0.1', peer.port, { command: 'nonce' }, { readTimeoutMs: 200 }).catch((e: unknown) => e);
  t.type(err, ResponseTimeoutError);
  t.ok(Date.now() - t0 >= 190, 'waited the timeout');
  t.equal(peer.requests.length, 1, 'the request was delivered');
});

t.test('server closes mid-frame: ConnectionClosedError with the bytes seen', async (t) => {
  const frame = readWireFrame('nonce-response');
  const peer = await ibmPeer(t, (_req, socket) => socket.end(frame.subarray(0, 20)));
  const err = await exchange('127.0.0.1', peer.port, { command: 'nonce' }).catch((e: unknown) => e);
  t.type(err, ConnectionClosedError);
  t.equal((err as ConnectionClosedError).bytesReceived, 20);
});

t.test('oversized response refused at its header', async (t) => {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(2048);
  const peer = await ibmPeer(t, (_req, socket) => socket.write(header));
  const err = await exchange('127.0.0.1', peer.port, { command: 'nonce' }, { maxBytes: 1024 }).catch((e: unknown) => e);
  t.type(err, FrameTooLargeError);
});

t.test('a response that is not JSON is BAD_JSON', async (t) => {
  const bad = Buffer.from('\0\0\0\u0003{x\0', 'latin1');
  const peer = await ibmPeer(t, (_req, socket) => socket.end(bad));
  const err = await exchange('127.0.0.1', peer.port, { command: 'nonce' }).catch((e: unknown) => e);
  t.equal((err as AcsError).code, ACS_ERROR.BAD_JSON);
});
