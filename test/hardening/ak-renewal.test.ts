/**
 * A server checks a quote's signature against the AK it last read for the
 * host, before any SQL. When the host enrolled a new AK through another
 * server meanwhile, that remembered AK is stale: the quote signed by the new
 * AK must still be accepted, and one signed by the old AK refused, whether
 * the server still remembers the old AK or already the new one; the old
 * AK's quotes are no longer the host's evidence, so they are security
 * events and leave the host's reports and nonces alone. Three
 * servers in this process share one MariaDB database.
 */
import t from 'tap';
import { ACS_ERROR, formatErrorCode } from '../../shared/protocol/errors.js';
import { unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import { refusal } from './outcome.js';
import { attestationByNonce } from './row-audit.js';
import { serverFiles, startInProcess } from './server-setup.js';
import { SteppedHost } from './stepped-host.js';

const files = await serverFiles(t);
const a = await startInProcess(t, files);
const b = await startInProcess(t, files, { store: a.store });
const c = await startInProcess(t, files, { store: a.store });
const QUOTE_SIGNATURE = formatErrorCode(ACS_ERROR.QUOTE_SIGNATURE);

t.test('after a new AK enrolls through another server, its quotes are accepted and the old AK\'s refused', async (t) => {
  const host = new SteppedHost('renewed.ak-renewal.test', files.ekCa, 1);
  await host.enroll(a.ep);
  await host.attest(b.ep);
  await host.attest(c.ep);
  const oldTpm = host.tpm;
  host.renewAk();
  await host.enroll(a.ep);

  /** A quote request for a fresh nonce from server A, signed by the old AK. */
  const signedByOldAk = async () => {
    const issued = await host.nonce(a.ep);
    const q = oldTpm.quote(issued.nonce, unmarshalPcrSelection(issued.pcrselect));
    return { issued, req: host.request({ issued, ...q, imaCovered: host.ima.length }) };
  };

  const first = await signedByOldAk();
  t.equal(await refusal(host.send(c.ep, first.req)), QUOTE_SIGNATURE, 'old AK, to a server that remembers it: refused under the row lock');
  t.match(await attestationByNonce(c.driver, first.issued.nonceHex), { quoted: null, errorCode: null }, 'not the host\'s evidence: its nonce stays unused');

  const issued = await host.nonce(a.ep);
  t.equal(await refusal(host.send(b.ep, host.request(host.quote(issued)))), null, 'new AK, to a server that remembers the old one: accepted');
  const row = await attestationByNonce(b.driver, issued.nonceHex);
  t.equal(row?.quoteverified, true, 'stored as verified');
  t.equal(row?.errorCode, null);

  const second = await signedByOldAk();
  t.equal(await refusal(host.send(b.ep, second.req)), QUOTE_SIGNATURE, 'old AK, to a server that now remembers the new one: refused');
  t.match(await attestationByNonce(b.driver, second.issued.nonceHex), { quoted: null, errorCode: null }, 'nor is this one');
  const events = await b.driver.all('SELECT kind, hostname FROM security_events ORDER BY id');
  t.same(events.map((e) => [e.kind, e.hostname]), [['forged_quote', host.hostname], ['forged_quote', host.hostname]], 'both are security events');
});
