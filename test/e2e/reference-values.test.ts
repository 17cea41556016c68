/**
 * Measured-boot reference values and the policy commands, through the real
 * CLI on the server's MariaDB database, with software machines attesting
 * over TCP to an in-process server: reference values taken from one
 * machine's white list (`policy golden`) and assigned before the others
 * enroll flag the very first quote of a machine with other firmware as
 * pcrinvalid, naming exactly the PCRs that differ, fail it and raise
 * machine.pcrinvalid; a machine with the same firmware is trusted; without
 * reference values the same other firmware is trusted on first quote.
 * Then import (Keylime JSON, allow-list with excludes), list, show, assign,
 * unassign, remove, and bad input refused with nothing changed.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OutboxSql } from '../../db/alert-outbox.js';
import { SqlForensics } from '../../db/forensics-sql.js';
import { PolicySql } from '../../db/policy-store.js';
import { decodeReportVerdict } from '../../db/report-verdict.js';
import { pcrDepartures } from '../../shared/tpm/pcr-banks.js';
import { runCli } from '../hardening/server-cli.js';
import { serverFiles, startInProcess } from '../hardening/server-setup.js';
import { SteppedHost } from '../hardening/stepped-host.js';

const files = await serverFiles(t);
const server = await startInProcess(t, files);
const policies = new PolicySql(server.driver);
const forensics = new SqlForensics(server.driver);
const FIRMWARE_PCRS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

const cli = async (...args: string[]) => {
  const run = await runCli(['policy', ...args, '--db', files.dbUrl]);
  return { code: run.code, out: run.log.text };
};
const machine = async (host: SteppedHost) => {
  await host.enroll(server.ep);
  await host.attest(server.ep);
  const summary = (await forensics.machines()).find((m) => m.machine.hostname === host.hostname)!;
  return { state: summary.state, report: (await server.store.getAttestation(summary.last!.id))! };
};

// Variant 0 and variant 7 firmware: the same CRTM version, other option ROM, boot loaders and command line.
const golden = new SteppedHost('ref-golden', files.ekCa, 0);
const same = new SteppedHost('ref-same', files.ekCa, 0);
const other = new SteppedHost('ref-other', files.ekCa, 7);
const unassigned = new SteppedHost('ref-unassigned', files.ekCa, 7);

t.test('reference values flag the first quote of a machine whose firmware differs', async (t) => {
  const g = await machine(golden);
  t.equal(g.state, 'trusted');
  t.match(await cli('golden', '--name', 'fw-v0', '--from-machine', 'ref-golden'), { code: 0, out: /reference values fw-v0 created from ref-golden/ });
  // Hostnames compare as the protocol compares them: case and one trailing dot do not matter.
  t.match(await cli('assign', '--name', 'fw-v0', 'REF-Same.', 'ref-other'), { code: 0, out: /assigned to 2 machine/ });

  const o = await machine(other);
  const expected = pcrDepartures(o.report.pcrs!, (await server.store.getMachine('ref-golden'))!.whitelist!, FIRMWARE_PCRS);
  t.ok(expected.length > 0 && !expected.some((d) => d.pcr === 0), 'the variants differ in some firmware PCRs, not PCR 0');
  t.match(o.report, { errorCode: null, pcrinvalid: true }, 'accepted, off its reference values on its first quote');
  t.equal(o.state, 'failing');
  const named = decodeReportVerdict(o.report.verdict)!.diagnosis.pcrs.filter((p) => /reference values fw-v0/.test(p.reason));
  t.same(named.map((p) => [p.bank, p.pcr]), expected.map((d) => [d.bank, d.pcr]), 'the diagnosis names exactly those PCRs');
  const alerts = await new OutboxSql(server.driver).recent(100);
  const pcrAlert = alerts.find((a) => a.type === 'machine.pcrinvalid' && a.hostname === 'ref-other');
  t.ok(pcrAlert, 'machine.pcrinvalid raised');
  t.same(
    (JSON.parse(pcrAlert!.body) as { details: { pcrs: { pcr: number }[] } }).details.pcrs.map((p) => p.pcr),
    expected.map((d) => d.pcr),
  );

  const s = await machine(same);
  t.match(s.report, { errorCode: null, pcrinvalid: false });
  t.equal(s.state, 'trusted', 'the same firmware passes');
  const u = await machine(unassigned);
  t.match(u.report, { errorCode: null, pcrinvalid: false }, 'without reference values the first quote sets the white list');
  t.equal(u.state, 'trusted');
});

t.test('policy commands on the database', async (t) => {
  const dir = files.dir;
  const h = (c: string) => c.repeat(64);
  await writeFile(join(dir, 'runtime.json'), JSON.stringify({ meta: { version: 1 }, digests: { '/usr/bin/a': [h('a')] }, excludes: ['/tmp/.*'] }));
  await writeFile(join(dir, 'sums.txt'), `${h('b')}  /usr/bin/b\n${h('c')}  /usr/bin/c\n`);
  await writeFile(join(dir, 'excludes.txt'), '^/var/log/\n^/run/\n');
  await writeFile(join(dir, 'broken.json'), JSON.stringify({ meta: { version: 1 }, digests: { '/x': ['not hex'] } }));

  t.match(await cli('import', '--name', 'rt', join(dir, 'runtime.json')), { code: 0, out: /policy rt created: 1 paths, 1 excludes/ });
  t.match(await cli('import', '--name', 'sums', join(dir, 'sums.txt'), '--excludes', join(dir, 'excludes.txt')), { code: 0, out: /policy sums created: 2 paths, 2 excludes/ });
  const broken = await cli('import', '--name', 'broken', join(dir, 'broken.json'));
  t.match(broken, { code: 2, out: /digests\["\/x"\]\[0\] is not a SHA-1\/256\/384\/512 hex digest/ }, 'a bad policy is refused, saying where');
  t.equal(await policies.byName('broken'), undefined, 'and nothing is stored');
  t.match(await cli('import', '--name', 'fw-v0', join(dir, 'sums.txt')), { code: 2, out: /holds pcr reference values, not ima/ });

  t.match(await cli('assign', '--name', 'rt', '--all'), { code: 0, out: /assigned to 4 machine/ });
  t.match(await cli('assign', '--name', 'sums', 'ref-same', '--default'), { code: 0, out: /made the default/ });
  const list = await cli('list');
  t.match(list.out, /^fw-v0\tpcr\t2 assigned\t/m);
  t.match(list.out, /^rt\tima\t3 assigned\t/m, '--all took every enrolled machine; ref-same then moved to sums');
  t.match(list.out, /^sums\tima\t1 assigned\tdefault\t/m);
  const shown = JSON.parse((await cli('show', 'sums')).out) as { kind: string; assigned: string[]; default: boolean; policy: { digests: Record<string, string[]>; excludes: string[] } };
  t.same(shown, {
    name: 'sums', kind: 'ima', default: true, assigned: ['ref-same'],
    policy: { ...shown.policy, digests: { '/usr/bin/b': [h('b')], '/usr/bin/c': [h('c')] }, excludes: ['^/var/log/', '^/run/'] },
  });
  t.match(await cli('unassign', '--name', 'sums', 'ref-same'), { code: 0, out: /unassigned from 1 machine/ });
  t.match(await cli('remove', 'rt'), { code: 0, out: /policy rt removed/ });
  t.same((await policies.assignments()).map((a) => `${a.hostname} ${a.policyName}`), ['ref-other fw-v0', 'ref-same fw-v0'], 'its assignments went with it');
  t.match(await cli('show', 'rt'), { code: 2, out: /no policy named rt/ });
  t.match(await cli('golden', '--name', 'g2', '--from-machine', 'nobody'), { code: 2, out: /machine nobody has no white list/ });
  t.match(await cli('assign', '--name', 'rt', 'x'), { code: 2, out: /no policy named rt/ });
  t.match(await cli('assign', '--name', 'sums', 'bad host'), { code: 2, out: /hostname holds a space.*: "bad host"/ });
});
