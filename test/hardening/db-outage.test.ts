/**
 * The database dies under load. The test runs its own MariaDB, puts 30
 * software machines (and a real swtpm host) under closed-loop attestation
 * against one acs-server, and kills MariaDB — SIGKILL, then later SIGTERM —
 * mid-load. While it is down every request is answered 8000004x (never
 * silence, never another code); MariaDB is started again on the same data
 * directory and port, and attestations resume through the same acs-server
 * (its pool reconnects). Afterwards every row is checked: no partial
 * attestation, and every quote a client saw accepted is stored accepted.
 */
import t from 'tap';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { interruptTwice, LoadLoop, overlapsAny, type Attempt } from './load-loop.js';
import { MariaDbInstance } from './mariadb-instance.js';
import { tally } from './outcome.js';
import { RealHost } from './real-host.js';
import { attestationByNonce, auditRows } from './row-audit.js';
import { serverFiles, startInProcess } from './server-setup.js';
import { steppedFleet } from './stepped-host.js';

const MACHINES = 30;
const ACCEPTED_PER_PHASE = 40;
const OUTAGE_MS = 1000;
const DB_CODES = new Set(['80000040', '80000041', '80000042']);

const [real, mariadb] = await Promise.all([RealHost.start(t, 'real.db-outage.test'), MariaDbInstance.create(t)]);
const files = await serverFiles(t, { trust: real.trust, dbUrl: mariadb.url('acs_outage') });
const srv = await startInProcess(t, files, { maxConnections: 256 });
const fleet = steppedFleet(files.ekCa, 'outage', MACHINES);

t.test(`MariaDB killed under load, restarted, load resumes`, async (t) => {
  await Promise.all([...fleet.map((h) => h.enroll(srv.ep)), real.enroll(srv.ep)]);
  await real.attest(srv.ep);
  const load = new LoadLoop(fleet, () => ({ nonce: srv.ep, quote: srv.ep }));
  const restartMs: number[] = [];
  const { interruptions: outages, attempts } = await interruptTwice(load, ACCEPTED_PER_PHASE, async (signal) => {
    await mariadb.stop(signal);
    await sleep(OUTAGE_MS);
    const restarting = performance.now();
    await mariadb.start();
    restartMs.push(Math.round(performance.now() - restarting));
  });
  const realAfter = await real.attest(srv.ep);
  t.equal(realAfter.newBoot, false, 'the swtpm host attests again through the same server');

  const during = (a: Attempt) => overlapsAny(a, outages);
  const failed = attempts.filter((a) => a.outcome !== null);
  const inOutage = attempts.filter(during);
  t.ok(inOutage.some((a) => a.outcome !== null), `requests were refused during the outages (${inOutage.length} attempts overlapped them)`);
  t.same(failed.filter((a) => !DB_CODES.has(a.outcome!)).map((a) => a.outcome), [], 'every refusal is a database code 8000004x; nothing went unanswered');
  t.same(failed.filter((a) => !during(a)).length, 0, 'nothing failed while MariaDB was up');
  t.match(srv.log.requests().find((l) => l.outcome === '80000040'), { level: 50, err: { message: /database unreachable/ } },
    'the log line of a refusal says why the database failed');
  const after = attempts.filter((a) => outages.some((o) => a.startedAt >= o.upAt) && !during(a));
  t.ok(after.length > 0 && after.every((a) => a.outcome === null), `attestations started after each restart all accepted (${after.length})`);

  const accepted = attempts.filter((a) => a.outcome === null);
  const rows = await Promise.all(accepted.map((a) => attestationByNonce(srv.driver, a.nonceHex!)));
  t.equal(rows.filter((r) => r?.quoted && r.errorCode === null).length, accepted.length, `all ${accepted.length} acknowledged quotes are stored accepted`);
  const answeredFailedButCommitted = (await Promise.all(failed.filter((a) => a.nonceHex).map((a) => attestationByNonce(srv.driver, a.nonceHex!))))
    .filter((r) => r?.quoted && r.errorCode === null).length;

  const audit = await auditRows(srv.driver);
  t.same(audit.problems, [], `row by row: ${audit.accepted} accepted, ${audit.refused} refused, ${audit.pending} pending, none partial`);
  const byHost = new Map(audit.machines.map((m) => [m.hostname, m]));
  const wrong = fleet.filter((h) => {
    const m = byHost.get(h.hostname);
    return m?.imaevents == null || m.imapcr !== h.pcr10After[m.imaevents];
  });
  t.same(wrong.map((h) => h.hostname), [], 'each machine\'s stored PCR 10 is its IMA log replayed to imaevents');

  const codes = tally(failed.map((a) => a.outcome));
  t.comment(`db-outage: ${MACHINES} machines + 1 swtpm, ${outages.map((o, i) => `${o.signal} ${OUTAGE_MS} ms down, restart ${restartMs[i]} ms`).join('; ')}; ` +
    `${attempts.length} attempts: ${accepted.length} accepted, refused ${JSON.stringify(codes)}, ${answeredFailedButCommitted} committed though answered 8000004x; ` +
    `resumed without restarting acs-server; ${audit.attestations.length} rows audited (${audit.imaRows} IMA, ${audit.biosRows} firmware), 0 partial`);
});
