import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { createAk, ensureSrk, loadAk } from '../../client/ak.js';
import { withFlushed } from '../../client/tpm/commands/objects.js';
import { pcrExtend, pcrRead, type PcrReadout } from '../../client/tpm/commands/pcr.js';
import { quote } from '../../client/tpm/commands/quote.js';
import { Tpm } from '../../client/tpm/tpm.js';
import { publicKeyFromTpm } from '../../shared/crypto/keys.js';
import { BufferReader } from '../../shared/tpm/buffer.js';
import { TPM_ALG, TPM_GENERATED_VALUE, TPM_ST } from '../../shared/tpm/constants.js';
import { buildPcrSelection, selectionOrder, unmarshalPcrSelection } from '../../shared/tpm/pcr-selection.js';
import { scratchDir } from '../helpers/scratch-dir.js';
import { startSwtpm } from '../helpers/swtpm.js';
import { tpm2ToolsPcrs } from '../helpers/tpm2-tools.js';

const run = promisify(execFile);
const swtpm = await startSwtpm({ t });
let tpm = await Tpm.open(swtpm.tcti);
t.teardown(() => tpm.close());
const tmp = await scratchDir(t, 'acs-quote-');
await ensureSrk(tpm);

const ALL = Array.from({ length: 24 }, (_, i) => i);

t.test('PCR_Extend then PCR_Read gives H(old || digest) in each bank', async (t) => {
  const sel = buildPcrSelection([[TPM_ALG.SHA1, [10]], [TPM_ALG.SHA256, [10]]]);
  const before = await pcrRead(tpm, sel);
  const d1 = createHash('sha1').update('event').digest();
  const d256 = createHash('sha256').update('event').digest();
  await pcrExtend(tpm, 10, [
    { hashAlg: TPM_ALG.SHA1, digest: d1 },
    { hashAlg: TPM_ALG.SHA256, digest: d256 },
  ]);
  const after = await pcrRead(tpm, sel);
  const old256 = before.get(TPM_ALG.SHA256)!.get(10)!;
  t.ok(old256.equals(Buffer.alloc(32)), 'PCR 10 starts at zero');
  t.equal(after.get(TPM_ALG.SHA256)!.get(10)!.toString('hex'), createHash('sha256').update(old256).update(d256).digest('hex'));
  t.equal(
    after.get(TPM_ALG.SHA1)!.get(10)!.toString('hex'),
    createHash('sha1').update(before.get(TPM_ALG.SHA1)!.get(10)!).update(d1).digest('hex'),
  );
  await t.rejects(pcrExtend(tpm, 10, [{ hashAlg: TPM_ALG.SHA256, digest: d1 }]), RangeError, 'digest size checked');
});

t.test('reading 48 PCRs takes several commands; a missing bank is absent', async (t) => {
  const values = await pcrRead(tpm, buildPcrSelection([[TPM_ALG.SHA1, ALL], [TPM_ALG.SHA256, ALL], [TPM_ALG.SHA384, ALL]]));
  t.same([...values.keys()], [TPM_ALG.SHA1, TPM_ALG.SHA256]);
  t.same([...values.get(TPM_ALG.SHA256)!.keys()].sort((a, b) => a - b), ALL);
  t.same([...values.get(TPM_ALG.SHA1)!.keys()].sort((a, b) => a - b), ALL);
  // PCR 17-22 are reset to all ones at TPM2_Startup on a PC Client TPM until a D-RTM event.
  t.ok(values.get(TPM_ALG.SHA256)!.get(17)!.equals(Buffer.alloc(32, 0xff)));
});

/** Quote fields up to the PCR selection (Part 2 §10.12.8, §10.12.1). */
function parseQuoted(quoted: Buffer) {
  const r = new BufferReader(quoted);
  const magic = r.u32();
  const type = r.u16();
  r.tpm2b('qualifiedSigner');
  const extraData = r.tpm2b('extraData');
  r.u64('clock');
  const resetCount = r.u32('resetCount');
  r.u32('restartCount');
  r.u8('safe');
  r.u64('firmwareVersion');
  const selStart = r.offset;
  unmarshalPcrSelection(quoted.subarray(selStart, selStart + 4 + 6 * r.u32('count')));
  return { magic, type, extraData, resetCount };
}

// IBM ACS's selection: SHA-256 PCR 0-10 and an empty SHA-1 bank.
const IBM_SELECTION = unmarshalPcrSelection(Buffer.from('00000002000b03ff0700000403000000', 'hex'));
const inOrder = (values: PcrReadout) => selectionOrder(IBM_SELECTION).map((o) => values.get(o.hashAlg)!.get(o.pcr)!);

for (const alg of ['rsa', 'ecc'] as const) {
  t.test(`a ${alg.toUpperCase()} AK quote over SHA-256 PCR 0-10 passes tpm2_checkquote`, async (t) => {
    const blobs = await createAk(tpm, alg);
    const nonce = randomBytes(32);
    const q = await withFlushed(tpm, loadAk(tpm, blobs), (ak) => quote(tpm, ak.handle, nonce, IBM_SELECTION));
    const parsed = parseQuoted(q.quoted);
    t.equal(parsed.magic, TPM_GENERATED_VALUE);
    t.equal(parsed.type, TPM_ST.ATTEST_QUOTE);
    t.ok(parsed.extraData.equals(nonce), 'extraData is the nonce');
    t.equal(q.signature.readUInt16BE(0), alg === 'rsa' ? TPM_ALG.RSASSA : TPM_ALG.ECDSA, 'signed with the AK scheme');

    const values = await pcrRead(tpm, IBM_SELECTION);
    t.equal(selectionOrder(IBM_SELECTION).length, 11);
    const files = {
      pub: path.join(tmp, `ak-${alg}.pem`),
      msg: path.join(tmp, `quote-${alg}.msg`),
      sig: path.join(tmp, `quote-${alg}.sig`),
      pcrs: path.join(tmp, `quote-${alg}.pcrs`),
    };
    const akPub = (await withFlushed(tpm, loadAk(tpm, blobs), async (ak) => ak.pub));
    writeFileSync(files.pub, publicKeyFromTpm(akPub).export({ type: 'spki', format: 'pem' }));
    writeFileSync(files.msg, q.quoted);
    writeFileSync(files.sig, q.signature);
    writeFileSync(files.pcrs, tpm2ToolsPcrs(IBM_SELECTION, inOrder(values)));
    const args = ['-u', files.pub, '-m', files.msg, '-s', files.sig, '-g', 'sha256', '-f', files.pcrs];
    const ok = await run('tpm2_checkquote', [...args, '-q', nonce.toString('hex')]);
    t.match(ok.stdout, /sha256:\n\s+0 : 0x0{64}\n/, 'tpm2_checkquote accepts signature, nonce and PCR digest');

    const wrongNonce = await run('tpm2_checkquote', [...args, '-q', randomBytes(32).toString('hex')]).catch((e: Error) => e);
    t.ok(wrongNonce instanceof Error, 'and refuses another nonce');
    const changed = new Map(values);
    changed.set(TPM_ALG.SHA256, new Map(values.get(TPM_ALG.SHA256)!).set(7, Buffer.alloc(32, 1)));
    writeFileSync(files.pcrs, tpm2ToolsPcrs(IBM_SELECTION, inOrder(changed)));
    const wrongPcrs = await run('tpm2_checkquote', [...args, '-q', nonce.toString('hex')]).catch((e: Error) => e);
    t.ok(wrongPcrs instanceof Error, 'and refuses other PCR values');
  });
}

t.test('a reboot shows in the quote: resetCount goes up, PCRs start again', async (t) => {
  const blobs = await createAk(tpm, 'ecc');
  const sel = buildPcrSelection([[TPM_ALG.SHA256, [10]]]);
  const quoteNow = () => withFlushed(tpm, loadAk(tpm, blobs), (ak) => quote(tpm, ak.handle, randomBytes(16), sel));
  const before = parseQuoted((await quoteNow()).quoted);
  await tpm.close();
  await swtpm.restart();
  tpm = await Tpm.open(swtpm.tcti);
  const after = parseQuoted((await quoteNow()).quoted);
  t.equal(after.resetCount, before.resetCount + 1);
  t.ok((await pcrRead(tpm, sel)).get(TPM_ALG.SHA256)!.get(10)!.equals(Buffer.alloc(32)), 'PCR 10 is zero again');
});
