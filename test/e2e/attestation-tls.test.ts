/**
 * The attestation protocol over TLS 1.3 beside plain TCP: one server serves
 * IBM's plain frames on --port and the same frames over TLS on --tls-port.
 * A swtpm machine enrolls and attests over TLS with the server's CA pinned;
 * a client pinning another CA (acs-client --tls-ca) or dialling a name the
 * certificate does not carry refuses the server before sending anything, and
 * a TLS 1.2 client gets no connection.
 */
import t from 'tap';
import tls from 'node:tls';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startSwtpm } from '../helpers/swtpm.js';
import { startTestServer } from '../helpers/acs-server.js';
import { issueServerCert, makeTestCa } from '../helpers/tls-certs.js';
import { enroll } from '../../client/enroll.js';
import { attest } from '../../client/attest.js';
import { extendLogs } from '../../client/extend.js';
import { exchange, ServerIdentityError } from '../../client/exchange.js';
import { AcsError } from '../../shared/protocol/errors.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/eventlogs/', import.meta.url));
const CLIENT_CLI = fileURLToPath(new URL('../../client/cli.js', import.meta.url));

t.test('enroll and attest over TLS 1.3 with the CA pinned; plain TCP beside it; wrong CA, wrong name, TLS 1.2 refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'acs-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ca = await makeTestCa(dir, 'acs-tls-ca');
  const otherCa = await makeTestCa(dir, 'other-ca');
  const cert = await issueServerCert(dir, ca, 'server', { dns: ['acs.test'], ip: ['127.0.0.1'] });

  const tpm = await startSwtpm({ t });
  const server = await startTestServer(t, {
    db: 'sqlite', trust: [tpm.caCertPem, tpm.intermediateCertPem], tlsPort: 0, tlsCert: cert.certFile, tlsKey: cert.keyFile,
  });
  const tlsPort = server.listener.tlsPort!;
  t.ok(tlsPort > 0 && tlsPort !== server.port, `TLS on its own port (${tlsPort}), plain TCP on ${server.port}`);
  const pinned = { host: '127.0.0.1', port: tlsPort, tls: { ca: ca.pem } };

  const stateDir = join(dir, 'client');
  const enrolled = await enroll({ server: pinned, tcti: tpm.tcti, alg: 'ecc', hostname: 'tls-host.test', stateDir });
  t.equal(enrolled.hostname, 'tls-host.test', 'enrolled over TLS');
  await extendLogs({ tcti: tpm.tcti, biosLog: join(fixtures, 'bios/acs_tpm2bios.bin'), imaLog: join(fixtures, 'ima/acs_imasig.bin') });
  const attestOpts = {
    tcti: tpm.tcti, stateDir, userid: 'tester', bootTime: '2026-11-25 10:00:00',
    biosLog: join(fixtures, 'bios/acs_tpm2bios.bin'), imaLog: join(fixtures, 'ima/acs_imasig.bin'), imaHashAlg: 'sha1' as const,
  };
  const attested = await attest({ ...attestOpts, server: pinned });
  t.match(attested, { newBoot: true, imaEvents: 1083 }, 'attested over TLS');
  t.match(await server.store.getMachine('tls-host.test'), { enrolled: Date, imaevents: 1083 }, 'the store has the enrollment and the attestation');

  const plain = await attest({ ...attestOpts, server: { host: '127.0.0.1', port: server.port } });
  t.match(plain, { newBoot: false }, 'the same machine attests over plain TCP on --port, as IBM clients do');
  const tlsOnPlain = await exchange('127.0.0.1', server.port, { command: 'nonce' }, { tls: { ca: ca.pem }, connectTimeoutMs: 5000 }).catch((e: unknown) => e);
  t.notOk(tlsOnPlain instanceof AcsError, 'the plain port does not speak TLS');

  const wrongName = await exchange('localhost', tlsPort, { command: 'nonce' }, { tls: { ca: ca.pem } }).catch((e: unknown) => e);
  t.ok(wrongName instanceof ServerIdentityError, 'a name the certificate does not carry is refused by the client');
  t.match((wrongName as Error).message, /ERR_TLS_CERT_ALTNAME_INVALID/);

  const cli = await promisify(execFile)(process.execPath, [
    CLIENT_CLI, 'attest', '--server', `127.0.0.1:${tlsPort}`, '--tls-ca', otherCa.certFile, '--tpm', tpm.tcti, '--state-dir', stateDir,
    '--bios-log', attestOpts.biosLog, '--ima-log', attestOpts.imaLog, '--boottime', attestOpts.bootTime,
  ]).then(() => undefined, (e: { code: number; stderr: string }) => e);
  t.equal(cli?.code, 4, 'acs-client --tls-ca with another CA fails (exit 4, as for an unreachable server)');
  t.match(cli?.stderr, /^acs-client: server not trusted: TLS with 127\.0\.0\.1:\d+ refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE/, 'saying the server is not trusted');
  t.match(await server.store.getMachine('tls-host.test'), { imaevents: 1083 }, 'and sent nothing that changed the machine');

  const old = await new Promise<string>((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: ca.pem, maxVersion: 'TLSv1.2' });
    s.once('secureConnect', () => { s.destroy(); resolve('connected'); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  t.not(old, 'connected', `a TLS 1.2 client is refused (${old})`);
});
