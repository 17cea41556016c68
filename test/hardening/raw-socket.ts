/**
 * A bare TCP connection to the server under test, for the tests that work
 * below the protocol: idle, trickling, cut or abandoned connections. Once
 * connected, socket errors are expected (the server resets such connections
 * on purpose) and are swallowed; failing to connect rejects.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

/** A connection a test holds open, and when the server closed it. */
export interface HeldSocket {
  socket: net.Socket;
  /** performance.now() when the socket closed. */
  closedAt: Promise<number>;
}

export async function holdOpen(port: number): Promise<HeldSocket> {
  const socket = await rawConnect(port);
  return { socket, closedAt: new Promise((done) => socket.once('close', () => done(performance.now()))) };
}
