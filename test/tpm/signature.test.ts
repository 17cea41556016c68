import t from 'tap';
import { MarshalError } from '../../shared/tpm/buffer.js';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import { UnsupportedAlgorithmError } from '../../shared/tpm/public.js';
import { marshalSignature, unmarshalSignature, type TpmSignature } from '../../shared/tpm/signature.js';
import { readWireJson } from '../helpers/acs-wire.js';

t.test('IBM RSASSA-SHA256 signatures', async (t) => {
  for (const f of ['quote-request-full.json', 'quote-request-incremental.json']) {
    const hex = readWireJson(f).signature as string;
    const s = unmarshalSignature(Buffer.from(hex, 'hex'));
    t.equal(s.sigAlg, TPM_ALG.RSASSA);
    t.equal(s.hashAlg, TPM_ALG.SHA256);
    if (s.sigAlg === TPM_ALG.ECDSA) throw new Error('not RSA');
    t.equal(s.sig.length, 256);
    t.equal(marshalSignature(s).toString('hex'), hex);
  }
});

t.test('ECDSA and RSAPSS encodings', async (t) => {
  const ecdsa: TpmSignature = { sigAlg: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256, r: Buffer.alloc(32, 0xaa), s: Buffer.alloc(31, 0xbb) };
  const b = marshalSignature(ecdsa);
  t.equal(b.toString('hex'), '0018000b0020' + 'aa'.repeat(32) + '001f' + 'bb'.repeat(31));
  t.same(unmarshalSignature(b), ecdsa);
  const pss: TpmSignature = { sigAlg: TPM_ALG.RSAPSS, hashAlg: TPM_ALG.SHA384, sig: Buffer.alloc(384, 1) };
  t.same(unmarshalSignature(marshalSignature(pss)), pss);
});

t.test('other schemes and bad sizes are rejected', async (t) => {
  t.throws(() => unmarshalSignature(Buffer.from('0005000b' + '00'.repeat(32), 'hex')), UnsupportedAlgorithmError, 'HMAC');
  t.throws(() => unmarshalSignature(Buffer.from('0010', 'hex')), UnsupportedAlgorithmError, 'NULL');
  t.throws(() => unmarshalSignature(Buffer.from('0014000b0201', 'hex')), MarshalError, 'RSA signature over 512 bytes');
  t.throws(() => unmarshalSignature(Buffer.from('0018000b0000000000', 'hex')), MarshalError, 'trailing byte');
});
