import net from 'node:net';
import t from 'tap';
import { MarshalError } from '../../shared/tpm/buffer.js';
import { marshalCommand, passwordAuth, unmarshalResponse, TPM_CC } from '../../client/tpm/command.js';
import { getManufacturer } from '../../client/tpm/commands/capability.js';
import { nvReadPublic } from '../../client/tpm/commands/nv.js';
import { MSSIM, mssimPowerOn } from '../../client/tpm/mssim.js';
import { decodeRc, TpmError } from '../../client/tpm/response-code.js';
import { Tpm } from '../../client/tpm/tpm.js';
import { openTransport, parseTcti, TpmTransportError } from '../../client/tpm/transport.js';
import { startSwtpm } from '../helpers/swtpm.js';

/** A loopback server whose connection handler the test controls; returns its port. */
async function peer(onConnection: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

t.test('TCTI strings', async (t) => {
  t.same(parseTcti('device:/dev/tpmrm0'), { kind: 'device', path: '/dev/tpmrm0' });
  t.same(parseTcti('swtpm:127.0.0.1:2321'), { kind: 'swtpm', host: '127.0.0.1', port: 2321 });
  t.same(parseTcti('mssim:[::1]:2321'), { kind: 'mssim', host: '::1', port: 2321 });
  for (const bad of ['', 'tabrmd', 'swtpm:localhost', 'swtpm:h:0', 'swtpm:h:65535', 'mssim:h:x', 'device:dev/tpm0', 'socket:h:1']) {
    t.throws(() => parseTcti(bad), TpmTransportError, bad);
  }
  const err = await openTransport('swtpm:nowhere').catch((e: unknown) => e);
  t.ok(err instanceof TpmTransportError && err.tcti === 'swtpm:nowhere' && /HOST:PORT/.test(err.message), 'says what it wants');
});

t.test('unreachable TPM gives a readable TpmTransportError', async (t) => {
  const closed = await peer(() => undefined);
  const port = closed.port;
  await closed.close();
  const err = await openTransport(`swtpm:127.0.0.1:${port}`).catch((e: unknown) => e);
  t.ok(err instanceof TpmTransportError, 'typed');
  t.match((err as Error).message, new RegExp(`cannot connect to 127.0.0.1:${port}: .*ECONNREFUSED`));
  const dev = await openTransport('device:/nonexistent/tpmrm0').catch((e: unknown) => e);
  t.ok(dev instanceof TpmTransportError, 'typed');
  t.match((dev as Error).message, /cannot open \/nonexistent\/tpmrm0.*no TPM device/);
  // A character device that answers nothing (end of file) is not a TPM.
  const empty = await openTransport('device:/dev/null');
  await t.rejects(empty.send(marshalCommand({ cc: TPM_CC.GetRandom, params: Buffer.from([0, 8]) })), {
    name: 'TpmTransportError',
    message: /short or malformed TPM response \(0 bytes\)/,
  });
  await empty.close();
});

t.test('a TPM that does not answer times out, and the connection is not reused', async (t) => {
  const silent = await peer(() => undefined);
  t.teardown(silent.close);
  const tr = await openTransport(`swtpm:127.0.0.1:${silent.port}`, { timeoutMs: 200 });
  const started = Date.now();
  const cmd = marshalCommand({ cc: TPM_CC.GetRandom, params: Buffer.from([0, 8]) });
  await t.rejects(tr.send(cmd), { name: 'TpmTransportError', message: /no TPM response within 200 ms/ });
  t.ok(Date.now() - started < 2000, 'gave up promptly');
  await t.rejects(tr.send(cmd), TpmTransportError, 'later sends fail too');
  await tr.close();
});

t.test('bad response framing is rejected without allocating', async (t) => {
  const liar = await peer((s) => s.once('data', () => s.write(Buffer.from('8001ffffffff00000000', 'hex'))));
  t.teardown(liar.close);
  const tr = await openTransport(`swtpm:127.0.0.1:${liar.port}`, { timeoutMs: 2000 });
  await t.rejects(tr.send(marshalCommand({ cc: TPM_CC.GetRandom, params: Buffer.from([0, 8]) })), {
    name: 'TpmTransportError',
    message: /response size 4294967295 out of range/,
  });
  await tr.close();

  const hangup = await peer((s) => s.once('data', () => s.end(Buffer.from('8001000000', 'hex'))));
  t.teardown(hangup.close);
  const tr2 = await openTransport(`swtpm:127.0.0.1:${hangup.port}`, { timeoutMs: 2000 });
  await t.rejects(tr2.send(marshalCommand({ cc: TPM_CC.GetRandom, params: Buffer.from([0, 8]) })), {
    name: 'TpmTransportError',
    message: /closed by the TPM/,
  });
  await tr2.close();
});

t.test('command and response framing (Part 1 §18)', async (t) => {
  // TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES, TPM_PT_MANUFACTURER, 1): no sessions.
  t.equal(
    marshalCommand({ cc: TPM_CC.GetCapability, params: Buffer.from('000000060000010500000001', 'hex') }).toString('hex'),
    '8001' + '00000016' + '0000017a' + '000000060000010500000001',
  );
  // One password session with an empty password: authSize 9 = handle(4) + nonce(2) + attrs(1) + hmac(2).
  t.equal(
    marshalCommand({ cc: TPM_CC.PCR_Extend, handles: [16], auth: [passwordAuth()], params: Buffer.from('00000000', 'hex') }).toString('hex'),
    '8002' + '0000001f' + '00000182' + '00000010' + '00000009' + '40000009' + '0000' + '01' + '0000' + '00000000',
  );
  const ok = unmarshalResponse(Buffer.from('80020000001900000000' + '80000001' + '00000002' + 'abcd' + '0000' + '01' + '0000', 'hex'), 1);
  t.same(ok.handles, [0x80000001]);
  t.equal(ok.params.toString('hex'), 'abcd');
  t.same(ok.auth, [{ nonce: Buffer.alloc(0), attributes: 1, hmac: Buffer.alloc(0) }]);
  t.equal(unmarshalResponse(Buffer.from('80010000000a0000018b', 'hex'), 1).rc, 0x18b);
  t.throws(() => unmarshalResponse(Buffer.from('8001000000', 'hex'), 0), MarshalError);
  t.throws(() => unmarshalResponse(Buffer.from('80010000000c00000000', 'hex'), 0), MarshalError, 'size field disagrees');
  t.throws(() => unmarshalResponse(Buffer.from('80020000000e00000000ffffffff', 'hex'), 0), MarshalError, 'parameterSize too big');
});

t.test('response codes (Part 2 §6.6)', async (t) => {
  t.match(decodeRc(0x18b), { name: 'TPM_RC_HANDLE', handle: 1, base: 0x08b });
  t.match(decodeRc(0x9a2), { name: 'TPM_RC_BAD_AUTH', session: 1 });
  t.match(decodeRc(0x98e), { name: 'TPM_RC_AUTH_FAIL', session: 1 });
  t.match(decodeRc(0x99d), { name: 'TPM_RC_POLICY_FAIL', session: 1 });
  t.match(decodeRc(0x2d5), { name: 'TPM_RC_SIZE', parameter: 2 });
  t.match(decodeRc(0x1df), { name: 'TPM_RC_INTEGRITY', parameter: 1 });
  t.match(decodeRc(0x921), { name: 'TPM_RC_LOCKOUT', warning: true });
  t.match(decodeRc(0x101), { name: 'TPM_RC_FAILURE', warning: false });
  t.match(decodeRc(0x100), { name: 'TPM_RC_INITIALIZE' });
  t.match(decodeRc(0x17f), { name: 'TPM_RC_UNKNOWN_0x17f' });
  t.equal(new TpmError(0x2d5, 'TPM2_Load').message, 'TPM2_Load failed: TPM_RC_SIZE (parameter 2) (rc 0x000002d5)');
});

t.test('on a real swtpm', async (t) => {
  const swtpm = await startSwtpm({ t });

  t.test('a TPM error is decoded and names the command', async (t) => {
    const tpm = await Tpm.open(swtpm.tcti);
    t.teardown(() => tpm.close());
    const err = await nvReadPublic(tpm, 0x01c0000a).catch((e: unknown) => e);
    t.ok(err instanceof TpmError, 'typed');
    t.match(err, { rc: 0x18b, code: 'TPM_RC_HANDLE', command: 'TPM2_NV_ReadPublic', decoded: { handle: 1 } });
    t.equal(await getManufacturer(tpm), 'IBM ', 'the connection still works after an error');
  });

  t.test('mssim framing, through a simulator-protocol peer that forwards to swtpm', async (t) => {
    const seen: { locality: number[]; signals: number[]; sessionEnd: number } = { locality: [], signals: [], sessionEnd: 0 };
    const platform = await peer((s) =>
      s.on('data', (d: Buffer) => {
        for (let o = 0; o + 4 <= d.length; o += 4) seen.signals.push(d.readUInt32BE(o));
        s.write(Buffer.alloc(4 * Math.floor(d.length / 4)));
      }),
    );
    t.teardown(platform.close);
    const command = await peer((s) => {
      let buf = Buffer.alloc(0);
      let backend: Promise<Awaited<ReturnType<typeof openTransport>>> | undefined;
      s.on('data', async (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 4) {
          const code = buf.readUInt32BE(0);
          if (code === MSSIM.SESSION_END) {
            seen.sessionEnd++;
            buf = buf.subarray(4);
            continue;
          }
          if (code !== MSSIM.SEND_COMMAND || buf.length < 9 || buf.length < 9 + buf.readUInt32BE(5)) return;
          seen.locality.push(buf[4]);
          const cmd = buf.subarray(9, 9 + buf.readUInt32BE(5));
          buf = buf.subarray(9 + cmd.length);
          backend ??= openTransport(swtpm.tcti);
          const resp = await (await backend).send(Buffer.from(cmd));
          const size = Buffer.alloc(4);
          size.writeUInt32BE(resp.length);
          s.write(Buffer.concat([size, resp, Buffer.alloc(4)]));
        }
      });
      s.on('close', async () => (await backend)?.close());
    });
    t.teardown(command.close);

    await mssimPowerOn('127.0.0.1', platform.port);
    t.same(seen.signals, [MSSIM.SIGNAL_POWER_ON, MSSIM.SIGNAL_NV_ON]);
    const tpm = await Tpm.open(`mssim:127.0.0.1:${command.port}`);
    t.equal(await getManufacturer(tpm), 'IBM ');
    const err = await nvReadPublic(tpm, 0x01c0000a).catch((e: unknown) => e);
    t.match(err, { code: 'TPM_RC_HANDLE', command: 'TPM2_NV_ReadPublic' });
    await tpm.close();
    await new Promise((r) => setTimeout(r, 50));
    t.same(seen.locality, [0, 0], 'locality byte 0 on each command');
    t.equal(seen.sessionEnd, 1, 'TPM_SESSION_END sent on close');
  });
});
