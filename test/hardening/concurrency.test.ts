/**
 * Concurrency against one acs-server over MariaDB. Fifty clients of the same
 * machine attest at once, each with its own nonce, while the machine's IMA
 * log grows: the machine row lock serializes them, so each quote is either
 * accepted (it reaches at least the state the last accepted one left) or
 * refused 90000020 (it is older), and the stored state is exactly the
 * replay of the accepted ones — no lost update, no double insert. Bursts of
 * enrollrequests for one new hostname at once all get their credential and
 * leave one row. Then 200 machines (and a real swtpm host) attest at once
 * and all succeed.
 */
import t from 'tap';
import { performance } from 'node:perf_hooks';
import { exchange } from '../../client/exchange.js';
import { parseResponse, serializeRequest, type QuoteRequest } from '../../shared/protocol/messages.js';
import { createFleet, runPrefix } from '../bench/fleet.js';
import { syntheticFirmwareLog } from '../bench/firmware-log.js';
import { refusal, tally } from './outcome.js';
import { attestationByNonce, auditRows, tableCounts } from './row-audit.js';
import { realHostAndFiles, startInProcess } from './server-setup.js';
import { IMA_PROFILE, SteppedHost, type Issued } from './stepped-host.js';

const SAME_MACHINE_CLIENTS = 50;
const MACHINES = 200;
const SAME_HOST_ENROLLS = 50;
const ENROLL_BURSTS = 5;
const BOOT_IMA_FILES = 10;
const MORE_IMA_FILES = 3;

const { real, files } = await realHostAndFiles(t, 'real.concurrency.test');
const srv = await startInProcess(t, files, { maxConnections: 512 });
const figures: string[] = [];

t.test(`${SAME_MACHINE_CLIENTS} clients attest the same machine at once`, async (t) => {
  const host = new SteppedHost('same.machine.test', files.ekCa, 7);
  await host.enroll(srv.ep);
  await host.attest(srv.ep);
  const baseline = host.ima.length;

  interface ClientOutcome { issued: Issued; covered: number; req: QuoteRequest; code: string | null }
  const outcomes = await Promise.all(Array.from({ length: SAME_MACHINE_CLIENTS }, async (_, i): Promise<ClientOutcome> => {
    const issued = await host.nonce(srv.ep);
    // The log grows between this client's nonce and its quote; the quote covers everything measured so far.
    host.measureFiles(1 + (i % 3));
    const q = host.quote(issued);
    const req = host.request(q);
    return { issued, covered: q.imaCovered, req, code: await refusal(host.send(srv.ep, req)) };
  }));

  t.equal(new Set(outcomes.map((o) => o.issued.nonceHex)).size, SAME_MACHINE_CLIENTS, 'every client got its own nonce');
  const accepted = outcomes.filter((o) => o.code === null);
  const refused = outcomes.filter((o) => o.code !== null);
  t.ok(accepted.length >= 1, `${accepted.length} accepted`);
  t.same(tally(refused.map((o) => o.code)), refused.length ? { '90000020': refused.length } : {}, 'a refused quote is one older than the stored state (90000020)');

  for (const o of outcomes) {
    const row = await attestationByNonce(srv.driver, o.issued.nonceHex);
    if (!row?.quoted) {
      t.fail(`nonce ${o.issued.nonceHex.slice(0, 8)} has no quoted attestlog row`);
      continue;
    }
    if (row.errorCode !== o.code) t.fail(`row ${row.id} records ${row.errorCode}, the client was answered ${o.code ?? 'ok'}`);
    if (o.code === null && (row.imaevents !== o.covered || row.pcrs?.sha256[10] !== host.pcr10After[o.covered])) {
      t.fail(`accepted row ${row.id}: imaevents ${row.imaevents} / PCR 10 differ from the quote's ${o.covered} events`);
    }
  }
  const rows = await Promise.all(accepted.map((o) => attestationByNonce(srv.driver, o.issued.nonceHex)));
  const byCommit = rows.map((r) => r!).sort((a, b) => a.quoted!.getTime() - b.quoted!.getTime() || a.imaevents! - b.imaevents!);
  t.ok(byCommit.every((r, i) => i === 0 || r.imaevents! > byCommit[i - 1]!.imaevents!), 'accepted imaevents rise in commit order');

  const m = (await srv.store.getMachine(host.hostname))!;
  t.equal(m.imaevents, host.ima.length, 'machine imaevents: the newest quote covered every event');
  t.equal(m.imapcr, host.pcr10After[host.ima.length], 'machine imapcr: PCR 10 after them');
  const ima = await srv.driver.all('SELECT entrynum, ima_entry FROM imalog WHERE hostname = ? AND refused = 0 ORDER BY entrynum, id', [host.hostname]);
  const wire = host.ima.wireFrom(0).map((w) => w.toString('hex'));
  t.same(ima.map((r) => Number(r.entrynum)), wire.map((_, i) => i), 'IMA rows: each entry once, none lost');
  t.ok(ima.every((r, i) => r.ima_entry === wire[i]), 'IMA rows hold the events the host logged');

  const before = await tableCounts(srv.driver);
  t.equal(await refusal(host.send(srv.ep, accepted[0]!.req)), '9000001c', 'an accepted nonce is not accepted again');
  if (refused.length) t.equal(await refusal(host.send(srv.ep, refused[0]!.req)), '9000001c', 'a refused nonce is used up too');
  t.same(await tableCounts(srv.driver), before, 'replays change no rows');
  figures.push(`${SAME_MACHINE_CLIENTS} clients on one machine: ${accepted.length} accepted, ${refused.length} refused 90000020, ` +
    `imaevents ${baseline}->${m.imaevents} consistent, nonces single-use`);
});

t.test(`${SAME_HOST_ENROLLS} enrollrequests for one new hostname at once`, async (t) => {
  // Several bursts: the requests' transactions overlap in some of them, not always in one.
  for (let burst = 0; burst < ENROLL_BURSTS; burst++) {
    const host = new SteppedHost(`same${burst}.enroll.test`, files.ekCa, 8 + burst);
    const request = serializeRequest({ command: 'enrollrequest', hostname: host.hostname, tpmvendor: 'SW  ', ekcert: host.tpm.ekCert, akpub: host.tpm.akPub });
    const answers = await Promise.all(Array.from({ length: SAME_HOST_ENROLLS }, () => refusal(exchange(srv.ep.host, srv.ep.port, request)
      .then((frame) => parseResponse('enrollrequest', frame)))));
    t.same(tally(answers), { ok: SAME_HOST_ENROLLS }, `${host.hostname}: every request answered with a credential`);
    const rows = await srv.driver.all('SELECT id FROM machines WHERE hostname = ?', [host.hostname]);
    t.equal(rows.length, 1, `${host.hostname}: one machine row`);
    await host.enroll(srv.ep);
    t.ok((await srv.store.getMachine(host.hostname))?.enrolled, `${host.hostname}: the host then enrolls`);
  }
  figures.push(`${ENROLL_BURSTS} × ${SAME_HOST_ENROLLS} simultaneous enrollrequests for one new hostname all answered, one row each`);
});

t.test(`${MACHINES} machines attest concurrently`, async (t) => {
  const fleet = createFleet({
    ca: files.ekCa, count: MACHINES, prefix: runPrefix(), akMode: 'mixed', rsaEvery: 50, ima: IMA_PROFILE, bootImaFiles: BOOT_IMA_FILES,
  });
  const before = await tableCounts(srv.driver);
  const t0 = performance.now();
  const enrolled = await Promise.all([...fleet.map((h) => refusal(h.enroll(srv.ep))), refusal(real.enroll(srv.ep))]);
  t.same(tally(enrolled), { ok: MACHINES + 1 }, 'every machine enrolled at once');
  const t1 = performance.now();
  let realFirmware = 0;
  const full = await Promise.all([
    ...fleet.map((h) => refusal(h.attest(srv.ep))),
    refusal(real.attest(srv.ep).then((r) => { realFirmware = r.firmwareEvents; })),
  ]);
  t.same(tally(full), { ok: MACHINES + 1 }, 'first (full) attestations all accepted');
  for (const h of fleet) h.measureFiles(MORE_IMA_FILES);
  const t2 = performance.now();
  const incremental = await Promise.all(fleet.map((h) => refusal(h.attest(srv.ep))));
  t.same(tally(incremental), { ok: MACHINES }, 'incremental attestations all accepted');
  const t3 = performance.now();

  const after = await tableCounts(srv.driver);
  const firmwareEvents = syntheticFirmwareLog(0).events.length;
  t.same(
    { machines: after.machines - before.machines, attestlog: after.attestlog - before.attestlog, bioslog: after.bioslog - before.bioslog, imalog: after.imalog - before.imalog },
    {
      machines: MACHINES + 1,
      attestlog: 2 * MACHINES + 1,
      bioslog: MACHINES * firmwareEvents + realFirmware,
      imalog: MACHINES * (1 + BOOT_IMA_FILES + MORE_IMA_FILES) + real.imaEvents,
    },
    'rows: one machine each, one attestlog row per attestation, every event stored once',
  );
  const machines = new Map((await auditRows(srv.driver)).machines.map((m) => [m.hostname, m]));
  const wrong = fleet.filter((h) => {
    const m = machines.get(h.hostname);
    return m?.imaevents !== h.imaLength || m.imapcr !== h.tpm.pcrs.value('sha256', 10).toString('hex');
  });
  t.same(wrong.map((h) => h.hostname), [], 'each machine stores its own IMA length and PCR 10');
  t.equal(machines.get(real.hostname)?.imaevents, real.imaEvents, 'the swtpm host attested among them');
  figures.push(`${MACHINES} machines + 1 swtpm enrolled in ${Math.round(t1 - t0)} ms, full round ${Math.round(t2 - t1)} ms, ` +
    `incremental round ${Math.round(t3 - t2)} ms, ${3 * MACHINES + 2} enrollments/attestations all ok, ` +
    `rows +${after.attestlog - before.attestlog} attestlog/+${after.bioslog - before.bioslog} bioslog/+${after.imalog - before.imalog} imalog`);
});

t.test('every row consistent', async (t) => {
  const audit = await auditRows(srv.driver);
  t.same(audit.problems, [], `${audit.attestations.length} attestlog rows audited`);
  t.comment(`concurrency: ${figures.join('; ')}; ${audit.accepted} accepted + ${audit.refused} refused rows audited, 0 partial`);
});
