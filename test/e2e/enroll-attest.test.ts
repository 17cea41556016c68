import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSwtpm } from '../helpers/swtpm.js';
import { startTestServer } from '../helpers/acs-server.js';
import { enroll } from '../../client/enroll.js';
import { attest } from '../../client/attest.js';
import { extendLogs } from '../../client/extend.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/eventlogs/', import.meta.url));

t.test('enroll then attest full over TCP with swtpm', async (t) => {
  const tpm = await startSwtpm({ t });
  const server = await startTestServer(t, { db: 'sqlite', trust: [tpm.caCertPem, tpm.intermediateCertPem] });
  const stateDir = await mkdtemp(join(tmpdir(), 'acs-client-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const r = await enroll({ server: { host: '127.0.0.1', port: server.port }, tcti: tpm.tcti, alg: 'rsa', hostname: 'host1.test', stateDir });
  t.equal(r.hostname, 'host1.test');
  const m = await server.store.getMachine('host1.test');
  t.ok(m?.enrolled, 'enrolled');

  await extendLogs({ tcti: tpm.tcti, biosLog: join(fixtures, 'bios/acs_tpm2bios.bin'), imaLog: join(fixtures, 'ima/acs_imasig.bin') });
  const a = await attest({
    server: { host: '127.0.0.1', port: server.port },
    tcti: tpm.tcti,
    stateDir,
    userid: 'tester',
    bootTime: '2026-11-25 10:00:00',
    biosLog: join(fixtures, 'bios/acs_tpm2bios.bin'),
    imaLog: join(fixtures, 'ima/acs_imasig.bin'),
    imaHashAlg: 'sha1',
  });
  t.equal(a.newBoot, true);
  t.equal(a.imaEvents, 1083);
  const m2 = await server.store.getMachine('host1.test');
  t.equal(m2?.imaevents, 1083);
});
