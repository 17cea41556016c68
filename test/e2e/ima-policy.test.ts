/**
 * IMA runtime policies end to end (real swtpm, MariaDB, TCP, a real HTTP
 * receiver): a Keylime-format policy built from acs_imasig.bin's own entries
 * but missing one file's digest, assigned before the machine enrolls, names
 * exactly that entry, counts it on the report, fails the machine and raises
 * a signed policy.violation; re-imported with an exclude matching that file,
 * the machine's next boot passes; a default policy reaches a machine when it
 * enrolls.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extendLogs } from '../../client/extend.js';
import { PolicySql } from '../../db/policy-store.js';
import { decodeReportVerdict } from '../../db/report-verdict.js';
import { SqlForensics } from '../../db/forensics-sql.js';
import { iterateImaBinaryLog } from '../../shared/eventlog/ima/event.js';
import { decodeImaTemplate } from '../../shared/eventlog/ima/template.js';
import { startSwtpm } from '../helpers/swtpm.js';
import { startTestServer } from '../helpers/acs-server.js';
import { AlertReceiver, hmacMatches } from '../helpers/alert-receiver.js';
import { AttestedHost, BIOS_LOG, IMA_KEY, IMA_LOG, scratchDir } from '../helpers/attested-host.js';

/** Each entry of the fixture log: its number, path and file digest. */
const entries: { entrynum: number; path: string; digest: string }[] = [];
for (const ev of iterateImaBinaryLog(await readFile(IMA_LOG))) {
  const info = decodeImaTemplate(ev);
  entries.push({ entrynum: ev.index, path: info.fileName!, digest: info.fileDigest!.digest.toString('hex') });
}
// A file measured once, in the middle of the log: the policy leaves its digest out.
const once = entries.filter((e) => entries.filter((x) => x.path === e.path).length === 1);
const missing = once[Math.floor(once.length / 2)]!;

/** As `keylime-policy create runtime` writes it, from the log itself, without `missing`'s digest. */
function keylimePolicy(excludes: string[]): string {
  const digests: Record<string, string[]> = {};
  for (const e of entries) if (e.path !== missing.path) (digests[e.path] ??= []).includes(e.digest) || digests[e.path]!.push(e.digest);
  return JSON.stringify({
    meta: { version: 1, generator: 3, timestamp: '2026-12-04T08:00:00' },
    release: 0,
    digests,
    excludes,
    keyrings: {},
    ima: { ignored_keyrings: [], log_hash_alg: 'sha1', dm_policy: null },
    'ima-buf': {},
    'verification-keys': '',
  });
}

const tpm = await startSwtpm({ t });
const receiver = await AlertReceiver.start(t);
const dir = await scratchDir(t);
const secret = randomBytes(16).toString('hex');
await writeFile(join(dir, 'secret'), secret);
const server = await startTestServer(t, {
  trust: [tpm.caCertPem, tpm.intermediateCertPem],
  imaKeyFiles: [IMA_KEY],
  notifyWebhooks: [receiver.url],
  notifySecret: join(dir, 'secret'),
  alertTiming: { pollMs: 100 },
});
const driver = server.store.driver;
const policies = new PolicySql(driver);
const forensics = new SqlForensics(driver);
const now = new Date();
const escaped = missing.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
await policies.save('missing-one', 'ima', keylimePolicy([]), now);
await policies.assign('missing-one', { hostnames: ['violating.test'] }, now);
await extendLogs({ tcti: tpm.tcti, biosLog: BIOS_LOG, imaLog: IMA_LOG, imaCount: entries.length });

const host = await AttestedHost.enroll(t, tpm, server, 'violating.test');
const stateOf = async (hostname: string) => (await forensics.machines()).find((m) => m.machine.hostname === hostname)!.state;

t.test('a Keylime policy missing one digest names exactly that entry and fails the machine', async (t) => {
  await host.attest();
  const report = await host.lastAttestation();
  t.match(report, { errorCode: null, quoteverified: true, logverified: true, policyViolations: 1 }, 'accepted, one entry not allowed');
  t.equal(await stateOf('violating.test'), 'failing');
  const diagnosis = decodeReportVerdict(report.verdict)!.diagnosis;
  t.same(
    diagnosis.imaEntries.filter((e) => /not allowed by policy/.test(e.reason)),
    [{ entrynum: missing.entrynum, reason: `not allowed by policy missing-one: ${missing.path} is not in the policy` }],
    "the report's diagnosis.imaEntries names exactly that entry",
  );
  t.match(decodeReportVerdict(report.verdict)!.checks.find((c) => c.name === 'ima-policy'), { result: 'fail' });
  const [alert] = await receiver.waitFor((r) => r.alert.type === 'policy.violation' && r.alert.hostname === 'violating.test');
  t.ok(hmacMatches(Buffer.from(secret), alert!.raw, alert!.signature), 'signed');
  t.same(alert!.alert.details, {
    policy: 'missing-one',
    entries: [{ entrynum: missing.entrynum, path: missing.path, reason: `not allowed by policy missing-one: ${missing.path} is not in the policy` }],
    total: 1,
  }, 'exactly the entry whose digest the policy lacks');
  t.match(alert!.alert, { report: { id: report.id }, summary: /1 IMA entry is not allowed by policy missing-one/ });
  await receiver.waitFor((r) => r.alert.type === 'machine.state_changed' && r.alert.hostname === 'violating.test' && r.alert.details.new === 'failing');
});

t.test('the policy re-imported with an exclude matching that file: the next boot passes', async (t) => {
  await policies.save('missing-one', 'ima', keylimePolicy([`${escaped}$`]), new Date());
  host.bootTime = '2026-12-04 07:00:00';
  await host.attest();
  t.match(await host.lastAttestation(), { errorCode: null, newBoot: true, policyViolations: 0, pcrinvalid: false }, 'a new boot starts a clean count');
  t.equal(await stateOf('violating.test'), 'trusted');
  await receiver.waitFor((r) => r.alert.type === 'machine.state_changed' && r.alert.hostname === 'violating.test' && r.alert.details.new === 'trusted');
  t.equal(receiver.ofType('policy.violation', 'violating.test').length, 1, 'no second violation');
});

t.test('the default policy is assigned to a machine when it enrolls', async (t) => {
  await policies.assign('missing-one', { hostnames: [], isDefault: true }, new Date());
  const other = await startSwtpm({ t });
  await AttestedHost.enroll(t, other, server, 'newcomer.test');
  const assigned = (await policies.assignments()).filter((a) => a.hostname === 'newcomer.test');
  t.same(assigned.map((a) => [a.kind, a.policyName]), [['ima', 'missing-one']]);
});
