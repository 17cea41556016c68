/**
 * acs-server restarted mid-load. The server runs as users run it (the CLI
 * in a child process); 30 software machines and a real swtpm host attest
 * in a closed loop; the process is killed (SIGKILL, later SIGTERM) and
 * started again on the same port. Clients see only connection failures
 * while it is down; every quote a client saw accepted ({"response":"quote"})
 * has its accepted row, and no row is partial.
 */
import t from 'tap';
import { interruptTwice, LoadLoop, overlapsAny, type Attempt } from './load-loop.js';
import { tally } from './outcome.js';
import { RealHost } from './real-host.js';
import { attestationByNonce, auditRows } from './row-audit.js';
import { ServerCli, serveArgs } from './server-cli.js';
import { serverFiles } from './server-setup.js';
import { steppedFleet } from './stepped-host.js';
import { openStore } from '../../db/open.js';

const MACHINES = 30;
const ACCEPTED_PER_PHASE = 40;
const TRANSPORT = new Set(['ServerUnreachableError', 'ConnectionClosedError']);

const real = await RealHost.start(t, 'real.restart.test');
const files = await serverFiles(t, { trust: real.trust });
const server = await ServerCli.start(t, serveArgs(files, 0, ['--max-connections', '256']));
const store = await openStore(files.dbUrl);
t.teardown(() => store.close());
const driver = store.driver;
const fleet = steppedFleet(files.ekCa, 'restart', MACHINES);

t.test('acs-server killed mid-load and started again on its port', async (t) => {
  await Promise.all([...fleet.map((h) => h.enroll(server.ep)), real.enroll(server.ep)]);
  await real.attest(server.ep);
  const port = server.port;
  const load = new LoadLoop(fleet, () => ({ nonce: server.ep, quote: server.ep }));
  const { interruptions: restarts, attempts } = await interruptTwice(load, ACCEPTED_PER_PHASE, async (signal) => {
    await server.stop(signal);
    await server.restart();
  });
  t.equal(server.port, port, 'restarted on the same port');
  t.same(server.runs.map((r) => r.signal ?? r.code), ['SIGKILL', 0, null], 'SIGKILL ended the first run; SIGTERM the second, with exit code 0');
  const realAfter = await real.attest(server.ep);
  t.equal(realAfter.newBoot, false, 'the swtpm host attests again, incrementally');

  const during = (a: Attempt) => overlapsAny(a, restarts);
  const failed = attempts.filter((a) => a.outcome !== null);
  t.same(failed.filter((a) => !TRANSPORT.has(a.outcome!) || !during(a)).map((a) => a.outcome), [],
    'clients saw only connection failures, and only while the server was down');
  const accepted = attempts.filter((a) => a.outcome === null);
  const rows = await Promise.all(accepted.map((a) => attestationByNonce(driver, a.nonceHex!)));
  t.equal(rows.filter((r) => r?.quoted && r.errorCode === null).length, accepted.length, `every acknowledged quote (${accepted.length}) has its accepted row`);
  const unacknowledged = (await Promise.all(failed.filter((a) => a.nonceHex).map((a) => attestationByNonce(driver, a.nonceHex!))))
    .filter((r) => r?.quoted && r.errorCode === null).length;

  const audit = await auditRows(driver);
  t.same(audit.problems, [], `row by row: ${audit.accepted} accepted, ${audit.pending} pending, none partial`);
  const byHost = new Map(audit.machines.map((m) => [m.hostname, m]));
  t.same(fleet.filter((h) => byHost.get(h.hostname)?.imapcr !== h.pcr10After[byHost.get(h.hostname)?.imaevents ?? -1]).map((h) => h.hostname), [],
    'each machine\'s PCR 10 matches its log at imaevents');
  t.comment(`server-restart: ${MACHINES} machines + 1 swtpm against the acs-server CLI on port ${port}; ` +
    `${restarts.map((r) => `${r.signal} -> serving again after ${Math.round(r.upAt - r.downAt)} ms`).join(', ')}; ${attempts.length} attempts: ` +
    `${accepted.length} acknowledged, all stored accepted; failures ${JSON.stringify(tally(failed.map((a) => a.outcome)))}, ` +
    `${unacknowledged} committed but unacknowledged; ${audit.attestations.length} rows audited, 0 partial`);
});
