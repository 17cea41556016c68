/**
 * One EK, one enrolled hostname (DESIGN.md "Who may do what"), on MariaDB and
 * SQLite: one swtpm asks to enroll as two hostnames with the same EK and AK,
 * activates both credentials, and sends both enrollcerts — one after the
 * other, then both at once. Exactly one hostname ends enrolled, the other is
 * refused 90000022 with its row unchanged, even with --allow-reenroll. The
 * database's unique key refuses a second enrolled row for an EK on its own.
 */
import t from 'tap';
import { DuplicateKeyError } from '../../db/store.js';
import { exchange } from '../../client/exchange.js';
import { parseResponse, serializeRequest } from '../../shared/protocol/messages.js';
import { startTestServer, type TestServer } from '../helpers/acs-server.js';
import { refusedWithoutChange } from '../helpers/machines-table.js';
import { enrollingTpm } from '../helpers/enrolling-tpm.js';
import { startSwtpm } from '../helpers/swtpm.js';

for (const db of ['mariadb', 'sqlite'] as const) {
  t.test(db, async (t) => {
    const swtpm = await startSwtpm({ t });
    // --allow-reenroll lets a hostname change its EK; it must not let an EK take a second hostname.
    const server = await startTestServer(t, { db, trust: [swtpm.caCertPem, swtpm.intermediateCertPem], allowReenroll: true });
    const { tpm, tpmvendor, ek, blobs } = await enrollingTpm(t, swtpm);

    const send = (req: Parameters<typeof serializeRequest>[0], to: TestServer = server) => exchange('127.0.0.1', to.port, serializeRequest(req));
    /** enrollrequest as `hostname` with this TPM's EK and AK; returns the challenge the TPM recovers. */
    const ask = async (hostname: string): Promise<Buffer> => {
      const answer = parseResponse('enrollrequest', await send({ command: 'enrollrequest', hostname, tpmvendor, ekcert: ek.der, akpub: blobs.publicBytes }));
      return tpm.activateCredential(ek, blobs, answer.credentialblob, answer.secret);
    };
    const enrollcert = (hostname: string, challenge: Buffer) => send({ command: 'enrollcert', hostname, challenge });
    const enrolled = async (...hostnames: string[]) =>
      (await Promise.all(hostnames.map((h) => server.store.getMachine(h)))).map((m) => m?.enrolled !== null && m?.enrolled !== undefined);

    t.test('two pending hostnames, one EK: the second enrollcert is refused (90000022)', async (t) => {
      const [one, two] = [await ask('twin1.test'), await ask('twin2.test')];
      t.same(await enrolled('twin1.test', 'twin2.test'), [false, false], 'both pending: a pending request proves nothing');
      t.ok(parseResponse('enrollcert', await enrollcert('twin1.test', one)).akcert, 'twin1 enrolls');
      const err = await refusedWithoutChange(t, server.store, '90000022', () => enrollcert('twin2.test', two));
      t.match(err.message, /EK is already enrolled under another hostname/);
      t.same(await enrolled('twin1.test', 'twin2.test'), [true, false]);
      t.match(await server.store.getMachine('twin2.test'), { challenge: /^[0-9a-f]{64}$/ }, 'twin2 keeps its pending request');
      // Once twin1 is enrolled, the next request under another name is refused at once.
      await refusedWithoutChange(t, server.store, '90000022', () => send({ command: 'enrollrequest', hostname: 'twin3.test', tpmvendor, ekcert: ek.der, akpub: blobs.publicBytes }));
      t.equal(await server.store.getMachine('twin3.test'), undefined);
    });

    t.test('enrollcerts of two hostnames for one EK at once: exactly one enrolls', async (t) => {
      const fresh = await startTestServer(t, { db, trust: [swtpm.caCertPem, swtpm.intermediateCertPem], allowReenroll: true });
      const askFresh = async (hostname: string) => {
        const answer = parseResponse('enrollrequest', await send({ command: 'enrollrequest', hostname, tpmvendor, ekcert: ek.der, akpub: blobs.publicBytes }, fresh));
        return tpm.activateCredential(ek, blobs, answer.credentialblob, answer.secret);
      };
      const names = ['race1.test', 'race2.test', 'race3.test'];
      const challenges: Buffer[] = [];
      for (const name of names) challenges.push(await askFresh(name));
      const outcomes = await Promise.allSettled(names.map((name, i) => send({ command: 'enrollcert', hostname: name, challenge: challenges[i]! }, fresh)));
      t.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, 'one enrollcert succeeds');
      for (const o of outcomes) if (o.status === 'rejected') t.match(o.reason, { code: 0x90000022 }, 'the others are refused 90000022');
      const rows = await Promise.all(names.map((n) => fresh.store.getMachine(n)));
      t.equal(rows.filter((m) => m?.enrolled).length, 1, 'one enrolled row for the EK');
    });

    t.test('the database refuses a second enrolled row for one EK', async (t) => {
      const twin2 = await server.store.getMachine('twin2.test');
      if (!twin2) throw new Error('twin2.test has no row');
      const err = await server.store.transaction((tx) => tx.updateMachine(twin2.id, { enrolled: new Date() })).catch((e: unknown) => e);
      t.ok(err instanceof DuplicateKeyError, 'a duplicate key');
      t.equal((err as DuplicateKeyError).key, 'machines_enrolled_ek_uq');
      t.equal((await server.store.getMachine('twin2.test'))?.enrolled, null, 'nothing written');
    });

    t.test('a hostname that gives its EK up frees it for another hostname', async (t) => {
      const twin1 = await server.store.getMachine('twin1.test');
      if (!twin1) throw new Error('twin1.test has no row');
      await server.store.transaction((tx) => tx.updateMachine(twin1.id, { enrolled: null }));
      t.ok(parseResponse('enrollcert', await enrollcert('twin2.test', await ask('twin2.test'))).akcert, 'twin2 enrolls');
      t.same(await enrolled('twin1.test', 'twin2.test'), [false, true]);
    });
  });
}
