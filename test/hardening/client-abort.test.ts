/**
 * A client killed mid-upload. Its quote frame is cut after the header,
 * half way, or one byte short, the connection closed (FIN) or reset (RST):
 * the server logs the connection as closed, no row changes, and the nonce
 * stays usable — the whole frame sent again is accepted. A nonce whose
 * upload was cut and that then expired is refused 90000101, recorded,
 * with no event rows. A client that sent the whole frame and vanished
 * before the answer gets its attestation committed whole.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { refusal } from './outcome.js';
import { rawConnect } from './raw-socket.js';
import { attestationByNonce, auditRows, tableCounts } from './row-audit.js';
import { serverFiles, startInProcess } from './server-setup.js';
import { SteppedHost, type Issued } from './stepped-host.js';

type Close = 'fin' | 'rst';

/** Writes `bytes` of `frame`, then ends the connection as a killed process's kernel would (FIN), or resets it. */
async function cutUpload(port: number, frame: Buffer, bytes: number, close: Close): Promise<void> {
  const socket = await rawConnect(port);
  await new Promise<void>((written) => socket.write(frame.subarray(0, bytes), () => written()));
  if (close === 'rst') socket.resetAndDestroy();
  else socket.destroy();
}

/** Sends the whole frame and half-closes, then disappears without reading the answer. */
async function uploadAndVanish(port: number, frame: Buffer): Promise<void> {
  const socket = await rawConnect(port);
  await new Promise<void>((sent) => socket.end(frame, () => sent()));
  socket.destroy();
}

const files = await serverFiles(t);
const srv = await startInProcess(t, files);
const shortLived = await startInProcess(t, files, { store: srv.store, nonceTtlMs: 300 });
const host = new SteppedHost('abort.test', files.ekCa, 3);
await host.enroll(srv.ep);
await host.attest(srv.ep);

async function snapshot(issued: Issued): Promise<unknown> {
  return { counts: await tableCounts(srv.driver), attestation: await attestationByNonce(srv.driver, issued.nonceHex), machine: await srv.store.getMachine(host.hostname) };
}

t.test('an upload cut short leaves nothing; the nonce stays usable', async (t) => {
  host.measureFiles(4);
  const issued = await host.nonce(srv.ep);
  const req = host.request(host.quote(issued));
  const frame = SteppedHost.frame(req);
  const before = await snapshot(issued);
  const cuts: [string, number, Close][] = [['header only', 4, 'rst'], ['half', Math.floor(frame.length / 2), 'fin'], ['all but one byte', frame.length - 1, 'rst']];
  for (const [what, bytes, close] of cuts) {
    const lines = srv.log.requests().length;
    await cutUpload(srv.ep.port, frame, bytes, close);
    const line = await srv.log.waitFor((l) => l.msg === 'request' && srv.log.requests().indexOf(l) >= lines);
    t.match(line, { outcome: 'closed', bytesIn: bytes, reason: close === 'fin' ? 'closed before a complete request' : /closed before a complete request|ECONNRESET/ },
      `${what} then ${close.toUpperCase()}: logged as closed`);
  }
  await sleep(50);
  t.same(await snapshot(issued), before, 'no row changed, the nonce unused');
  t.equal(await refusal(host.send(srv.ep, req)), null, 'the whole frame, sent again, is accepted with the same nonce');
  t.match(await attestationByNonce(srv.driver, issued.nonceHex), { errorCode: null, imaevents: host.ima.length });
});

t.test('an upload cut short whose nonce then expires: 90000101, recorded, its events kept apart as evidence', async (t) => {
  host.measureFiles(2);
  const issued = await host.nonce(shortLived.ep);
  const req = host.request(host.quote(issued));
  const frame = SteppedHost.frame(req);
  await cutUpload(srv.ep.port, frame, Math.floor(frame.length / 3), 'rst');
  const machineBefore = await srv.store.getMachine(host.hostname);
  const countsBefore = await tableCounts(srv.driver);
  await sleep(400);
  t.equal(await refusal(host.send(srv.ep, req)), '90000101', 'the expired nonce is refused');
  t.match(await attestationByNonce(srv.driver, issued.nonceHex), { errorCode: '90000101', pcrs: null, quoteverified: true }, 'and the refusal recorded on its row');
  const after = await tableCounts(srv.driver);
  t.same({ ...after, imalog: countsBefore.imalog, bioslog: countsBefore.bioslog }, countsBefore, 'no other rows');
  const refusedRows = await srv.driver.all(
    'SELECT COUNT(*) AS n FROM imalog i JOIN attestlog a ON a.id = i.attestation_id WHERE a.nonce = ? AND i.refused = 1', [issued.nonceHex]);
  t.equal(after.imalog - countsBefore.imalog, Number(refusedRows[0]!.n), 'every new IMA row is the refused report\'s evidence');
  t.equal(after.bioslog, countsBefore.bioslog, 'no firmware rows: the quote carried none');
  t.same(await srv.store.getMachine(host.hostname), machineBefore, 'the machine unchanged');
});

t.test('a client that uploads everything and vanishes: committed whole', async (t) => {
  const issued = await host.nonce(srv.ep);
  const req = host.request(host.quote(issued));
  const countsBefore = await tableCounts(srv.driver);
  const lines = srv.log.requests().length;
  await uploadAndVanish(srv.ep.port, SteppedHost.frame(req));
  await srv.log.waitFor((l) => l.msg === 'request' && l.command === 'quote' && srv.log.requests().indexOf(l) >= lines);
  t.match(await attestationByNonce(srv.driver, issued.nonceHex), { errorCode: null, imaevents: host.ima.length }, 'accepted');
  const counts = await tableCounts(srv.driver);
  t.equal(counts.imalog - countsBefore.imalog, req.imaevents.length, 'with all its IMA events');
  t.equal(await refusal(host.send(srv.ep, req)), '9000001c', 'its nonce is used');

  const audit = await auditRows(srv.driver);
  t.same(audit.problems, [], 'every row consistent');
  t.comment(`client-abort: uploads cut after the header, half way and 1 byte short (FIN/RST) logged as closed, 0 rows changed, ` +
    `the same nonce then accepted; cut + expired nonce -> 90000101 recorded with no events; whole upload then gone -> committed ` +
    `with ${req.imaevents.length} IMA events, replay 9000001c; ${audit.attestations.length} rows audited`);
});
