import t from 'tap';
import { BufferReader, MarshalError } from '../../shared/tpm/buffer.js';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import {
  buildPcrSelection,
  marshalPcrSelection,
  readPcrSelection,
  samePcrSelection,
  selectedPcrs,
  selectionOrder,
  unmarshalPcrSelection,
} from '../../shared/tpm/pcr-selection.js';
import { readWireJson } from '../helpers/acs-wire.js';

const IBM = '00000002000b03ff0700000403000000';
const range = (n: number) => [...Array(n).keys()];

t.test('IBM ACS selection: SHA-256 PCR 0-10, empty SHA-1 bank', async (t) => {
  t.equal(readWireJson('nonce-response.json').pcrselect, IBM);
  const sel = unmarshalPcrSelection(Buffer.from(IBM, 'hex'));
  t.equal(sel.length, 2);
  t.equal(sel[0].hashAlg, TPM_ALG.SHA256);
  t.same(selectedPcrs(sel[0]), range(11));
  t.equal(sel[1].hashAlg, TPM_ALG.SHA1);
  t.same(selectedPcrs(sel[1]), []);
  t.equal(marshalPcrSelection(sel).toString('hex'), IBM);
});

t.test('built from banks and indexes, in the given bank order', async (t) => {
  const built = buildPcrSelection(new Map([[TPM_ALG.SHA256, range(11)], [TPM_ALG.SHA1, []]]));
  t.equal(marshalPcrSelection(built).toString('hex'), IBM);
  const two = buildPcrSelection([[TPM_ALG.SHA1, [23, 0]], [TPM_ALG.SHA256, [7, 1]]]);
  t.equal(marshalPcrSelection(two).toString('hex'), '00000002' + '0004' + '03' + '010080' + '000b' + '03' + '820000');
  t.same(selectionOrder(two), [
    { hashAlg: TPM_ALG.SHA1, pcr: 0 },
    { hashAlg: TPM_ALG.SHA1, pcr: 23 },
    { hashAlg: TPM_ALG.SHA256, pcr: 1 },
    { hashAlg: TPM_ALG.SHA256, pcr: 7 },
  ]);
  const wide = buildPcrSelection([[TPM_ALG.SHA256, [24]]]);
  t.equal(wide[0].select.toString('hex'), '00000001', 'grows past PCR_SELECT_MIN when needed');
  t.throws(() => buildPcrSelection([[TPM_ALG.SHA256, [-1]]]), RangeError);
});

t.test('samePcrSelection compares selected PCRs, not bitmap widths', async (t) => {
  const a = unmarshalPcrSelection(Buffer.from(IBM, 'hex'));
  t.ok(samePcrSelection(a, buildPcrSelection([[TPM_ALG.SHA256, range(11)]], 4)));
  t.notOk(samePcrSelection(a, buildPcrSelection([[TPM_ALG.SHA256, range(10)]])));
  t.notOk(samePcrSelection(a, buildPcrSelection([[TPM_ALG.SHA1, range(11)]])));
});

t.test('bad input', async (t) => {
  t.throws(() => unmarshalPcrSelection(Buffer.from('000000ff', 'hex')), MarshalError, 'count over the bank limit');
  t.throws(() => unmarshalPcrSelection(Buffer.from('00000001000bff', 'hex')), MarshalError, 'sizeofSelect over the limit');
  t.throws(() => unmarshalPcrSelection(Buffer.from(IBM + '00', 'hex')), MarshalError, 'trailing byte');
  const r = new BufferReader(Buffer.from(IBM + 'abcd', 'hex'));
  readPcrSelection(r);
  t.equal(r.remaining, 2, 'embedded read stops at its end');
});
