/**
 * Stored hostnames from before the hostname rule, on SQLite and MariaDB: a
 * row differing from its normal form only by case or a trailing dot is
 * renamed (with its attestation and event rows' copies); rows that collide
 * after normalization and rows with no DNS name are reported and left alone;
 * a second run changes nothing. `acs-server migrate` prints the report.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { auditHostnames, describeHostnameReport } from '../../db/hostname-audit.js';
import { openStore } from '../../db/open.js';
import type { Store } from '../../db/store.js';
import { BACKENDS, biosEvents, imaEvents, newAttestation, newMachine } from '../helpers/store-fixtures.js';

const XSS = `<img src=x onerror=alert(1)>\r\n`;

/** Machines as an older server stored them; each has an attestation and events under its hostname. */
async function seed(store: Store): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const hostname of ['ok.example', 'Solo.Example.', 'HOSTA.example', 'hosta.example.', XSS]) {
    ids[hostname] = await store.transaction(async (tx) => {
      const id = await tx.insertMachine(newMachine(hostname));
      const aid = await tx.insertAttestation(newAttestation(id, hostname, `nonce ${hostname}`));
      await tx.insertBiosEvents(biosEvents(id, aid, hostname, 2));
      await tx.insertImaEvents(imaEvents(id, aid, hostname, 0, 2));
      return id;
    });
  }
  return ids;
}

for (const backend of BACKENDS) {
  t.test(backend.name, async (t) => {
    const store = await backend.open(t);
    const ids = await seed(store);
    const driver = store.driver;
    // A policy assignment names its machine by hostname alone.
    const now = '2026-01-01 00:00:00.000';
    const policy = (await driver.run(`INSERT INTO policies (name, kind, body, is_default, created_at, updated_at) VALUES ('p', 'ima', '{}', 0, ?, ?)`, [now, now])).insertId;
    await driver.run('INSERT INTO policy_assignments (hostname, kind, policy_id, created_at) VALUES (?, ?, ?, ?)', ['Solo.Example.', 'ima', policy, now]);
    const hostnamesOf = async (table: string, id: number) =>
      [...new Set((await driver.all(`SELECT hostname FROM ${table} WHERE ${table === 'machines' ? 'id' : 'machine_id'} = ?`, [id])).map((r) => r.hostname))];

    const dry = await auditHostnames(driver, false);
    t.same(dry.renamed, [{ id: ids['Solo.Example.'], from: 'Solo.Example.', to: 'solo.example' }], 'without fix: what would be renamed');
    t.same(await hostnamesOf('machines', ids['Solo.Example.']!), ['Solo.Example.'], 'and nothing renamed');

    const report = await auditHostnames(driver, true);
    t.same(report.renamed, [{ id: ids['Solo.Example.'], from: 'Solo.Example.', to: 'solo.example' }]);
    t.same(report.collisions, [{ normal: 'hosta.example', machines: [{ id: ids['HOSTA.example'], hostname: 'HOSTA.example' }, { id: ids['hosta.example.'], hostname: 'hosta.example.' }] }]);
    t.match(report.invalid, [{ id: ids[XSS], hostname: XSS, reason: /hostname/ }]);
    for (const table of ['machines', 'attestlog', 'bioslog', 'imalog']) {
      t.same(await hostnamesOf(table, ids['Solo.Example.']!), ['solo.example'], `${table}: renamed`);
      t.same(await hostnamesOf(table, ids['HOSTA.example']!), ['HOSTA.example'], `${table}: a colliding name is kept`);
      t.same(await hostnamesOf(table, ids['hosta.example.']!), ['hosta.example.'], `${table}: so is the other`);
      t.same(await hostnamesOf(table, ids[XSS]!), [XSS], `${table}: an invalid name stays as stored`);
    }
    t.same((await driver.all('SELECT hostname FROM policy_assignments')).map((r) => r.hostname), ['solo.example'], 'policy_assignments: renamed');
    const lines = describeHostnameReport(report);
    t.equal(lines.length, 3);
    t.match(lines[1], /^collision: machines \d+ "HOSTA.example", \d+ "hosta.example." are all "hosta.example"; none changed$/);
    t.match(lines[2], /^invalid: machine \d+ "<img src=x onerror=alert\(1\)>\\u000d\\u000a": /, 'printed escaped');

    const again = await auditHostnames(driver, true);
    t.same(again.renamed, [], 'a second run renames nothing');
    t.equal(again.collisions.length, 1);
  });
}

t.test('acs-server migrate renames, reports the rest and exits 1 while machines need a decision', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acs-audit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const url = `sqlite:${join(dir, 'acs.db')}`;
  const store = await openStore(url, process.env, { create: true });
  await seed(store);
  await store.close();
  const cli = fileURLToPath(new URL('../../server/cli.js', import.meta.url));
  const out = await promisify(execFile)(process.execPath, [cli, 'migrate', '--db', url]).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => e,
  );
  t.equal(out.code, 1);
  t.match(out.stdout, /renamed machine \d+ from "Solo.Example." to "solo.example"/);
  t.match(out.stdout, /collision: machines/);
  t.match(out.stdout, /invalid: machine \d+ "<img/);
  t.notOk(/[\r\u0000-\u0009\u000b-\u001f]/.test(out.stdout), 'no stored control character printed');
});
