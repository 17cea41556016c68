/**
 * The one quote request serializer (QuoteRequestWriter) against IBM's
 * captured frames: the requests read from IBM's client's full and
 * incremental quotes are written again byte for byte — length header, member
 * order, json-c layout, hex, trailing NUL. A log larger than a chunk is
 * written in several chunks that read back as the same request, and members
 * out of IBM's order are refused.
 */
import t from 'tap';
import { decodePayload } from '../../shared/protocol/frame.js';
import { parseQuoteRequest, quoteRequestFrame, quoteRequestWriter, QuoteRequestWriter, serializeQuoteRequest, type QuoteRequest } from '../../shared/protocol/quote.js';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import { readWireFrame, readWireJson } from '../helpers/acs-wire.js';

for (const name of ['quote-request-full', 'quote-request-incremental']) {
  t.test(`${name}: parsed and written again, the IBM client's frame byte for byte`, async (t) => {
    const ibm = readWireFrame(name);
    const req = parseQuoteRequest(decodePayload(ibm.subarray(4, -1)));
    const ours = Buffer.concat(quoteRequestFrame(req));
    t.equal(ours.length, ibm.length, 'same length');
    t.ok(ours.equals(ibm), 'same bytes');
    const object = serializeQuoteRequest(req);
    t.same(Object.keys(object), Object.keys(readWireJson(`${name}.json`)), 'the object form: same members in the same order');
    t.same(object, readWireJson(`${name}.json`), 'and the same values');
  });
}

t.test('a log larger than a chunk is written in chunks that read back as the same request', async (t) => {
  const req = parseQuoteRequest(readWireJson('quote-request-full.json'));
  const big: QuoteRequest = { ...req, imaentry: 7, imaevents: Array.from({ length: 12_000 }, (_, i) => Buffer.alloc(180, i & 0xff)) };
  const chunks = quoteRequestWriter(big).text();
  t.ok(chunks.length >= 4, `${chunks.length} chunks`);
  t.ok(chunks.every((c) => c.length < (1 << 20) + 1024), 'none much over 1 MiB');
  const back = parseQuoteRequest(JSON.parse(chunks.join('')), { maxEvents: 1024, maxImaEvents: 100_000, maxEventBytes: 1 << 20 });
  t.same(back, big);
});

t.test('members out of IBM\'s order are refused', async (t) => {
  const quoted = Buffer.from('ff544347', 'hex');
  const sig = Buffer.from('0014', 'hex');
  const afterAlg = new QuoteRequestWriter('h.test', quoted, sig);
  afterAlg.templateHashAlg(TPM_ALG.SHA256);
  t.throws(() => afterAlg.firmwareEvent(Buffer.alloc(4)), RangeError, 'a firmware event after templatehashalg');
  t.throws(() => afterAlg.templateHashAlg(TPM_ALG.SHA1), RangeError, 'templatehashalg twice');
  const ima = new QuoteRequestWriter('h.test', quoted, sig);
  ima.imaEvent(5, Buffer.alloc(4));
  t.throws(() => ima.firmwareEvent(Buffer.alloc(4)), RangeError, 'a firmware event after an IMA event');
  t.throws(() => quoteRequestWriter({ command: 'quote', hostname: 'h.test', quoted, signature: sig, events: [], imaevents: [Buffer.alloc(4)] }), RangeError, 'IMA events without imaentry');
});
