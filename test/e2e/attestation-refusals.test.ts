/**
 * Refused quotes over TCP (real swtpm, MariaDB): each answers its own error
 * code, changes nothing in the machine's row, records the failure on the
 * nonce's attestlog row where the quote names one, and never degrades the
 * next attestation: a normal attest() right after still succeeds
 * incrementally from the stored position. The bad quotes are built from the
 * client's own pieces (nonce exchange, TPM2_Quote with the enrolled AK,
 * QuoteRequestWriter).
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import { buildPcrSelection, unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import { serializeRequest } from '../../shared/protocol/messages.js';
import type { NonceResponse } from '../../shared/protocol/messages.js';
import type { Quote } from '../../client/tpm/commands/quote.js';
import { startSwtpm } from '../helpers/swtpm.js';
import { startTestServer } from '../helpers/acs-server.js';
import {
  AttestedHost, IMA_KEY, firmwareWireEvents, imaWireEvents, recordingProxy, refusalCode, scratchDir,
} from '../helpers/attested-host.js';
import { GrowingImaLog } from '../helpers/growing-ima-log.js';

const FIVE_MINUTES = 5 * 60 * 1000;

function flipped(b: Buffer, at: number): Buffer {
  const out = Buffer.from(b);
  out[at < 0 ? out.length + at : at]! ^= 0x01;
  return out;
}

/** TPMS_ATTEST: magic, type, qualifiedSigner and extraData (TPM2Bs), clock (u64), then resetCount (Part 2 §10.12.12). */
function resetCountOffset(quoted: Buffer): number {
  const signer = 6 + 2 + quoted.readUInt16BE(6);
  return signer + 2 + quoted.readUInt16BE(signer) + 8;
}

t.test('refused quotes change nothing and never degrade the next attestation', async (t) => {
  // One EK is one enrolled hostname: the other host has a TPM of its own.
  const [tpm, otherTpm] = await Promise.all([startSwtpm({ t }), startSwtpm({ t })]);
  let skewMs = 0;
  const server = await startTestServer(t, {
    trust: [tpm.caCertPem, tpm.intermediateCertPem, otherTpm.caCertPem, otherTpm.intermediateCertPem],
    imaKeyFiles: [IMA_KEY],
    now: () => new Date(Date.now() + skewMs),
  });
  const host = await AttestedHost.enroll(t, tpm, server, 'refused.test');
  const other = await AttestedHost.enroll(t, otherTpm, server, 'other.test');
  const growing = await GrowingImaLog.start(host, await scratchDir(t));
  t.match(await host.attest(), { newBoot: true, imaEvents: 2 * 1083 }, 'baseline: full attestation');
  t.match(await host.machine(), { imaevents: growing.extended });

  const quoteFor = (n: NonceResponse, who = host) => who.quote(n.nonce, unmarshalPcrSelection(n.pcrselect));
  const rowOf = async (who: AttestedHost, nonce: Buffer) => (await who.attestations()).find((a) => a.nonce === nonce.toString('hex'));

  /**
   * Runs `refuse` after the TPM measured a few new events, checks the code
   * and that the machine rows did not change, then attests normally.
   */
  const refusal = async (t: Test, code: string, refuse: () => Promise<unknown>, hosts: AttestedHost[] = [host]) => {
    await growing.grow(3);
    const before = await Promise.all(hosts.map((h) => h.machine()));
    t.equal(await refusalCode(refuse()), code, `answered ${code}`);
    t.strictSame(await Promise.all(hosts.map((h) => h.machine())), before, 'machine rows unchanged');
    const r = await host.attest();
    t.match(r, { newBoot: false, retried: false, firmwareEvents: 0, imaEntry: before[0]!.imaevents }, 'next attestation is incremental from the stored position');
    t.match(await host.lastAttestation(), { errorCode: null, logverified: true, imaentry: before[0]!.imaevents, imaevents: growing.extended });
    t.equal((await host.machine())!.imaevents, growing.extended, 'and accepts the new events');
  };

  t.test('quote without a nonce: 9000001b', (t) =>
    refusal(t, '9000001b', async () => {
      const q = await host.quote(randomBytes(32), buildPcrSelection([[TPM_ALG.SHA256, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], [TPM_ALG.SHA1, []]]));
      return host.send(host.request(q));
    }));

  t.test('wrong nonce: 9000001a; the issued nonce stays unused', async (t) => {
    let n!: NonceResponse;
    await refusal(t, '9000001a', async () => {
      n = await host.nonce();
      const q = await host.quote(randomBytes(32), unmarshalPcrSelection(n.pcrselect));
      return host.send(host.request(q, { ima: await growing.since(n) }));
    });
    t.match(await rowOf(host, n.nonce), { quoted: null, quoteverified: null });
  });

  t.test('replayed quote request: 9000001c; the original row is kept', async (t) => {
    const proxy = await recordingProxy(t, server.port);
    await growing.grow(3);
    await host.attest({ server: { host: '127.0.0.1', port: proxy.port } });
    const captured = proxy.frames.at(-1)!;
    const original = await host.lastAttestation();
    await refusal(t, '9000001c', () => host.send([captured]));
    t.strictSame((await host.attestations()).find((a) => a.id === original.id), original, 'the used nonce\'s row is unchanged');
  });

  t.test('expired nonce: 90000101', async (t) => {
    let n!: NonceResponse;
    await refusal(t, '90000101', async () => {
      n = await host.nonce();
      const q = await quoteFor(n);
      skewMs += FIVE_MINUTES + 1000;
      return host.send(host.request(q, { ima: await growing.since(n) }));
    });
    t.match(await rowOf(host, n.nonce), { errorCode: '90000101', quoteverified: true });
  });

  t.test('another host\'s nonce: 9000001a under this hostname, 90000010 under the other', async (t) => {
    let theirs!: NonceResponse;
    await refusal(t, '9000001a', async () => {
      await host.nonce();
      theirs = await other.nonce();
      const q = await quoteFor(theirs);
      return host.send(host.request(q, { ima: await growing.since(theirs) }));
    }, [host, other]);
    await refusal(t, '90000010', async () => {
      const q = await quoteFor(theirs);
      return other.send(other.request(q, { ima: await growing.since(theirs) }));
    }, [host, other]);
    t.match(await rowOf(other, theirs.nonce), { quoted: null, errorCode: null }, 'a quote not signed by the host\'s AK does not use up its nonce');
  });

  const tampered = (code: string, what: string, edit: (q: Quote) => Quote) =>
    t.test(`${what}: ${code}`, async (t) => {
      let n!: NonceResponse;
      await refusal(t, code, async () => {
        n = await host.nonce();
        return host.send(host.request(edit(await quoteFor(n)), { ima: await growing.since(n) }));
      });
      t.match(await rowOf(host, n.nonce), { quoted: null, errorCode: null, quoteverified: null }, 'a forged quote does not use up the nonce');
    });
  tampered('90000010', 'altered quoted bytes (pcrDigest)', (q) => ({ ...q, quoted: flipped(q.quoted, -1) }));
  tampered('90000010', 'altered quoted bytes (resetCount)', (q) => ({ ...q, quoted: flipped(q.quoted, resetCountOffset(q.quoted)) }));
  tampered('90000010', 'altered signature', (q) => ({ ...q, signature: flipped(q.signature, 100) }));

  t.test('altered firmware event on a new boot: 90000020', async (t) => {
    let n!: NonceResponse;
    await refusal(t, '90000020', async () => {
      n = await host.nonce('2026-12-01 00:00:00');
      t.match(n, { biosentry: 0, imaentry: 0 }, 'a different boottime asks for full logs');
      const firmware = await firmwareWireEvents((log) => {
        const separator = log.events.filter((e) => e.pcrIndex === 7).at(-1)!;
        separator.digests = separator.digests.map((d) => ({ ...d, digest: flipped(d.digest, 0) }));
      });
      return host.send(host.request(await quoteFor(n), { firmware, ima: await growing.since(n) }));
    });
    t.match(await rowOf(host, n.nonce), { errorCode: '90000020', quoteverified: true, logverified: false, newBoot: true });
  });

  t.test('altered IMA template data: its hash changes PCR 10: 90000020', async (t) => {
    let n!: NonceResponse;
    await refusal(t, '90000020', async () => {
      n = await host.nonce();
      const ima = await growing.since(n);
      ima.events[0] = flipped(ima.events[0]!, -1);
      return host.send(host.request(await quoteFor(n), { ima }));
    });
    t.match(await rowOf(host, n.nonce), { errorCode: '90000020', quoteverified: true, logverified: false });
  });

  t.test('different PCR selection: 90000014', async (t) => {
    let n!: NonceResponse;
    await refusal(t, '90000014', async () => {
      n = await host.nonce();
      const q = await host.quote(n.nonce, buildPcrSelection([[TPM_ALG.SHA256, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]], [TPM_ALG.SHA1, [10]]]));
      return host.send(host.request(q, { ima: await growing.since(n) }));
    });
    t.match(await rowOf(host, n.nonce), { errorCode: '90000014', quoteverified: true });
  });

  t.test('unenrolled host: 90000023 for nonce and quote', async (t) => {
    await refusal(t, '90000023', () => host.send(serializeRequest({ command: 'nonce', hostname: 'ghost.test', userid: 'x', boottime: host.bootTime })));
    await refusal(t, '90000023', async () => {
      const n = await host.nonce();
      return host.send(host.request(await quoteFor(n), {}, 'ghost.test'));
    });
    t.equal(await server.store.getMachine('ghost.test'), undefined);
  });

  t.test('a logged template hash altered alone is accepted and flagged badevent', async (t) => {
    await growing.grow(3);
    const n = await host.nonce();
    const ima = await growing.since(n);
    // pcrIndex (4) and the algorithm (2) precede the SHA-1 template hash.
    ima.events[1] = flipped(ima.events[1]!, 6);
    t.same(await host.send(host.request(await quoteFor(n), { ima })), { response: 'quote' });
    const rows = await host.imaRows((await host.lastAttestation()).id);
    t.same(rows.filter((r) => r.badevent).map((r) => r.entrynum), [n.imaentry + 1], 'only the altered event');
    t.equal((await host.machine())!.imaevents, growing.extended);
  });

  t.test('a new-boot nonce answered without the firmware log: 90000005', (t) =>
    refusal(t, '90000005', async () => {
      const n = await host.nonce('2031-01-01 00:00:00');
      t.match(n, { biosentry: 0, imaentry: 0 }, 'another boot time asks for full logs');
      return host.send(host.request(await quoteFor(n), { ima: await growing.since(n) }));
    }));

  t.test('IMA events that start past the stored position: 90000020', async (t) => {
    let n!: NonceResponse;
    await refusal(t, '90000020', async () => {
      n = await host.nonce();
      const from = n.imaentry + 1;
      return host.send(host.request(await quoteFor(n), { ima: { from, events: await imaWireEvents(host.imaLog, from, growing.extended) } }));
    });
    t.match(await rowOf(host, n.nonce), { errorCode: '90000020', errorMessage: /IMA events start at \d+, expected \d+/ }, 'the gap is named');
  });
});
