/**
 * Scale-out: three acs-server processes (the CLI) on different ports share
 * one MariaDB database, all state in the database. They start together on
 * an empty database (the migration lock lets one create the schema). A
 * machine enrolls with one and finishes with another, takes its nonce from
 * one server and sends the quote to the next; load split that way across
 * all three, and clients of one machine spread over all three at once, keep
 * the rows consistent — the machine row lock serializes them whichever
 * server holds it. Each subtest has a deadline, together well inside the
 * runner's timeout: a stall fails with the servers' and the database's state.
 */
import t, { type Test } from 'tap';
import { exchange } from '../../client/exchange.js';
import { parseResponse, serializeRequest } from '../../shared/protocol/messages.js';
import { openStore } from '../../db/open.js';
import { LoadLoop } from './load-loop.js';
import { refusal, tally } from './outcome.js';
import { attestationByNonce, auditRows, tableCounts } from './row-audit.js';
import { ServerCli, serveArgs } from './server-cli.js';
import { realHostAndFiles } from './server-setup.js';
import { SteppedHost, steppedFleet, type Endpoint, type Issued } from './stepped-host.js';
import { withinOrReport } from './stall-report.js';

const SERVERS = 3;
const MACHINES = 45;
const LOAD_ACCEPTED = 150;
const SAME_MACHINE_CLIENTS = 24;

const { real, files } = await realHostAndFiles(t, 'real.scale-out.test');
const servers = await Promise.all(Array.from({ length: SERVERS }, () => ServerCli.start(t, serveArgs(files, 0, ['--max-connections', '256']))));
const eps = servers.map((s) => s.ep);
const store = await openStore(files.dbUrl);
t.teardown(() => store.close());
const driver = store.driver;
const figures: string[] = [];

/** A subtest that must finish within `ms`; a normal run takes a few seconds for each. */
function timedTest(name: string, ms: number, fn: (t: Test) => Promise<void>): void {
  t.test(name, (t) => withinOrReport(ms, name, fn(t), servers, files.dbUrl));
}

/** enrollrequest to one server, enrollcert (with the activated challenge) to another. */
async function enrollAcross(host: SteppedHost, first: Endpoint, second: Endpoint): Promise<void> {
  const made = parseResponse('enrollrequest', await exchange(first.host, first.port, serializeRequest({
    command: 'enrollrequest', hostname: host.hostname, tpmvendor: 'SW  ', ekcert: host.tpm.ekCert, akpub: host.tpm.akPub,
  })));
  const challenge = host.tpm.activateCredential(made.credentialblob, made.secret);
  parseResponse('enrollcert', await exchange(second.host, second.port, serializeRequest({ command: 'enrollcert', hostname: host.hostname, challenge })));
}

timedTest('enroll with one server, finish with another; nonce from one, quote to another', 45_000, async (t) => {
  t.equal(new Set(servers.map((s) => s.port)).size, SERVERS, `${SERVERS} servers on ${servers.map((s) => s.port).join(', ')}`);
  const host = new SteppedHost('roaming.scale-out.test', files.ekCa, 1);
  await enrollAcross(host, eps[0]!, eps[1]!);
  const hops: string[] = [];
  let last: { issued: Issued; to: Endpoint } | undefined;
  for (let i = 0; i < SERVERS; i++) {
    const from = eps[i]!;
    const to = eps[(i + 1) % SERVERS]!;
    const issued = await host.nonce(from);
    const req = host.request(host.quote(issued));
    t.equal(await refusal(host.send(to, req)), null, `nonce from :${from.port}, quote to :${to.port}`);
    hops.push(`${from.port}->${to.port}`);
    last = { issued, to };
    host.measureFiles(2);
  }
  const replayTo = eps.find((e) => e !== last!.to)!;
  const replay = host.request(host.quote(last!.issued), last!.issued.imaentry);
  t.equal(await refusal(host.send(replayTo, replay)), '9000001c', 'a nonce used at one server is used at all of them');

  await real.enroll(eps[0]!);
  const r1 = await real.attest(eps[1]!);
  const r2 = await real.attest(eps[2]!);
  t.match([r1, r2], [{ newBoot: true, imaEvents: real.imaEvents }, { newBoot: false, imaEvents: 0 }], 'the swtpm host: enrolled at one, attested full at the second, incrementally at the third');
  figures.push(`cross-server enroll and nonce/quote ${hops.join(', ')} ok, replay elsewhere 9000001c, swtpm host across all three`);
});

timedTest('load split across the servers', 120_000, async (t) => {
  const fleet = steppedFleet(files.ekCa, 'scale', MACHINES);
  const index = new Map(fleet.map((h, i) => [h, i]));
  const enrolled = await Promise.all(fleet.map((h, i) => refusal(enrollAcross(h, eps[i % SERVERS]!, eps[(i + 1) % SERVERS]!))));
  t.same(tally(enrolled), { ok: MACHINES }, `${MACHINES} machines enrolled at once, each through two servers`);
  const before = await tableCounts(driver);
  const load = new LoadLoop(fleet, (h, round) => {
    const k = index.get(h)! + round;
    return { nonce: eps[k % SERVERS]!, quote: eps[(k + 1) % SERVERS]! };
  });
  // Stopped whatever happens: loops left running would keep the test process alive.
  await load.acceptedMore(LOAD_ACCEPTED).finally(() => load.stop());
  const attempts = load.attempts;
  t.same(tally(attempts.map((a) => a.outcome)), { ok: attempts.length }, `all ${attempts.length} attestations accepted`);
  const rows = await Promise.all(attempts.map((a) => attestationByNonce(driver, a.nonceHex!)));
  t.ok(rows.every((r) => r?.quoted && r.errorCode === null), 'each one stored accepted under its nonce');
  const after = await tableCounts(driver);
  t.equal(after.attestlog - before.attestlog, attempts.length, 'one attestlog row per attestation');
  const machines = new Map((await auditRows(driver)).machines.map((m) => [m.hostname, m]));
  t.same(fleet.filter((h) => machines.get(h.hostname)?.imapcr !== h.pcr10After[machines.get(h.hostname)?.imaevents ?? -1]).map((h) => h.hostname), [],
    'each machine\'s stored imaevents/PCR 10 is its own log replayed');
  const served = servers.map((s) => s.log.requests().filter((l) => l.outcome === 'ok').length);
  t.ok(served.every((n) => n > attempts.length / SERVERS / 2), `every server did its share (${served.join('/')} requests)`);
  figures.push(`${MACHINES} machines enrolled at once, ${attempts.length} attestations split nonce/quote across ${SERVERS} servers all ok (${served.join('/')} requests)`);
});

timedTest('clients of one machine on all servers at once', 45_000, async (t) => {
  const host = new SteppedHost('shared.scale-out.test', files.ekCa, 2);
  await host.enroll(eps[0]!);
  await host.attest(eps[1]!);
  const outcomes = await Promise.all(Array.from({ length: SAME_MACHINE_CLIENTS }, async (_, i) => {
    const issued = await host.nonce(eps[i % SERVERS]!);
    host.measureFiles(1);
    return refusal(host.send(eps[(i + 1) % SERVERS]!, host.request(host.quote(issued))));
  }));
  const counts = tally(outcomes);
  t.same(Object.keys(counts).filter((k) => k !== 'ok' && k !== '90000020'), [], `accepted or refused as older than the stored state: ${JSON.stringify(counts)}`);
  const m = (await store.getMachine(host.hostname))!;
  t.equal(m.imaevents, host.ima.length, 'the machine holds the newest state');
  t.equal(m.imapcr, host.pcr10After[host.ima.length]);
  const entries = await driver.all('SELECT entrynum FROM imalog WHERE hostname = ? AND refused = 0 ORDER BY entrynum', [host.hostname]);
  t.same(entries.map((r) => Number(r.entrynum)), Array.from({ length: host.ima.length }, (_, i) => i), 'each IMA entry stored once');
  figures.push(`${SAME_MACHINE_CLIENTS} clients of one machine over ${SERVERS} servers: ${counts.ok ?? 0} accepted, ${counts['90000020'] ?? 0} refused 90000020, state consistent`);
});

timedTest('every row consistent', 30_000, async (t) => {
  const audit = await auditRows(driver);
  t.same(audit.problems, [], `${audit.attestations.length} rows audited`);
  t.comment(`scale-out: ${SERVERS} acs-server processes on one MariaDB database; ${figures.join('; ')}; ` +
    `${audit.accepted} accepted + ${audit.refused} refused rows audited, 0 inconsistent`);
});
