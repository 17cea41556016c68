/**
 * A server checks a quote's signature against the AK it last read for the
 * host, before any SQL. When the host enrolled a new AK through another
 * server meanwhile, that remembered AK is stale: the quote signed by the new
 * AK must still be accepted, and one signed by the old AK refused. Two
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

t.test('a quote signed by an AK enrolled through another server is accepted', async (t) => {
  const host = new SteppedHost('renewed.ak-renewal.test', files.ekCa, 1);
  await host.enroll(a.ep);
  await host.attest(b.ep);
  const oldTpm = host.tpm;

  host.renewAk();
  await host.enroll(a.ep);
  const issued = await host.nonce(a.ep);
  t.equal(await refusal(host.send(b.ep, host.request(host.quote(issued)))), null, 'the new AK\'s quote, to the server that remembers the old AK');
  const row = await attestationByNonce(b.driver, issued.nonceHex);
  t.equal(row?.quoteverified, true, 'stored as verified');
  t.equal(row?.errorCode, null);

  const next = await host.nonce(a.ep);
  const byOld = oldTpm.quote(next.nonce, unmarshalPcrSelection(next.pcrselect));
  const oldQuote = host.request({ issued: next, ...byOld, imaCovered: host.ima.length });
  t.equal(await refusal(host.send(b.ep, oldQuote)), formatErrorCode(ACS_ERROR.QUOTE_SIGNATURE), 'the old AK\'s quote is refused');
  t.equal((await attestationByNonce(b.driver, next.nonceHex))?.errorCode, formatErrorCode(ACS_ERROR.QUOTE_SIGNATURE), 'and recorded as refused');
});
