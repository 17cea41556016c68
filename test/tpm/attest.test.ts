import t from 'tap';
import { MarshalError } from '../../shared/tpm/buffer.js';
import { TPM_ALG, TPM_GENERATED_VALUE, TPM_ST } from '../../shared/tpm/constants.js';
import { marshalAttest, quoteInfo, unmarshalAttest, type TpmAttest } from '../../shared/tpm/attest.js';
import { marshalPcrSelection, selectedPcrs } from '../../shared/tpm/pcr-selection.js';
import { readWireJson } from '../helpers/acs-wire.js';

const cases = [
  { quote: 'quote-request-full.json', nonce: 'nonce-response.json', clock: 275770n },
  { quote: 'quote-request-incremental.json', nonce: 'nonce-response-incremental.json', clock: 284114n },
];

for (const c of cases) {
  t.test(`${c.quote}: TPMS_ATTEST fields`, async (t) => {
    const quoted = Buffer.from(readWireJson(c.quote).quoted as string, 'hex');
    const nonce = readWireJson(c.nonce);
    const a = unmarshalAttest(quoted);
    t.equal(a.magic, TPM_GENERATED_VALUE);
    t.equal(a.type, TPM_ST.ATTEST_QUOTE);
    t.equal(a.qualifiedSigner.toString('hex'), '000b63450acc676829475b89ada34e61954c8ec32feff774bbc87e2c2d170ae957c3');
    t.equal(a.extraData.toString('hex'), nonce.nonce, 'extraData is the server nonce');
    t.equal(a.clockInfo.clock, c.clock);
    t.equal(a.clockInfo.resetCount, 0x10b6a61a);
    t.equal(a.clockInfo.restartCount, 0x8feb6a94);
    t.equal(a.clockInfo.safe, true);
    t.equal(a.firmwareVersion, 0x6e60a1e5ddf85507n);
    const q = quoteInfo(a);
    if (!q) throw new Error('not a quote');
    t.equal(marshalPcrSelection(q.pcrSelect).toString('hex'), nonce.pcrselect, 'pcrSelect is what the server asked for');
    t.same(selectedPcrs(q.pcrSelect[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    t.equal(q.pcrDigest.toString('hex'), 'ff2b7f8f771b47d2f4a897932d0427453637b9671cd75e029b54df7049ef19d4');
    t.ok(marshalAttest(a).equals(quoted), 're-marshals to the identical bytes');
  });
}

t.test('a non-quote attestation keeps its attested bytes and is not a quote', async (t) => {
  const a: TpmAttest = {
    magic: TPM_GENERATED_VALUE,
    type: TPM_ST.ATTEST_CERTIFY,
    qualifiedSigner: Buffer.from('000b' + '01'.repeat(32), 'hex'),
    extraData: Buffer.alloc(0),
    clockInfo: { clock: 1n, resetCount: 2, restartCount: 3, safe: false },
    firmwareVersion: 0x0102030405060708n,
    attested: { raw: Buffer.from('0002aaaa0002bbbb', 'hex') },
  };
  const b = marshalAttest(a);
  t.equal(
    b.toString('hex'),
    'ff544347' + '8017' + '0022000b' + '01'.repeat(32) + '0000' + '0000000000000001' + '00000002' + '00000003' + '00' +
      '0102030405060708' + '0002aaaa0002bbbb',
  );
  t.same(unmarshalAttest(b), a);
  t.equal(quoteInfo(unmarshalAttest(b)), undefined);
});

t.test('a quote built by a software attester round-trips', async (t) => {
  const a: TpmAttest = {
    magic: TPM_GENERATED_VALUE,
    type: TPM_ST.ATTEST_QUOTE,
    qualifiedSigner: Buffer.alloc(0),
    extraData: Buffer.alloc(32, 9),
    clockInfo: { clock: 2n ** 63n + 5n, resetCount: 0xffffffff, restartCount: 0, safe: true },
    firmwareVersion: 0n,
    attested: { quote: { pcrSelect: [{ hashAlg: TPM_ALG.SHA256, select: Buffer.from('ff0700', 'hex') }], pcrDigest: Buffer.alloc(32, 1) } },
  };
  t.same(unmarshalAttest(marshalAttest(a)), a);
});

t.test('structural errors are MarshalErrors', async (t) => {
  const quoted = Buffer.from(readWireJson('quote-request-incremental.json').quoted as string, 'hex');
  const badMagic = Buffer.from(quoted);
  badMagic[0] = 0;
  t.throws(() => unmarshalAttest(badMagic), MarshalError);
  const badType = Buffer.from(quoted);
  badType.writeUInt16BE(TPM_ST.NO_SESSIONS, 4);
  t.throws(() => unmarshalAttest(badType), MarshalError);
  const badSafe = Buffer.from(quoted);
  badSafe[2 + 4 + 2 + 34 + 2 + 32 + 16] = 2; // TPMS_CLOCK_INFO.safe
  t.throws(() => unmarshalAttest(badSafe), MarshalError);
  t.throws(() => unmarshalAttest(Buffer.concat([quoted, Buffer.from([0])])), MarshalError);
});
