import t from 'tap';
import { EventLogError } from '../../shared/eventlog/errors.js';
import { parseImaAsciiLine, parseImaAsciiLog } from '../../shared/eventlog/ima/ascii.js';
import { parseImaBinaryLog, resolveTemplateHashAlg, type ImaEvent } from '../../shared/eventlog/ima/event.js';
import { ImaReplayer } from '../../shared/eventlog/ima/replay.js';
import { decodeImaTemplate, templateFields, templateFieldIds } from '../../shared/eventlog/ima/template.js';
import { fixture, imaFile, imaFiles, loadIma, templateHashAlgOf } from './fixtures.js';

/** enum hash_algo names for the signature header's hash_algo byte. */
const KERNEL_HASH = ['md4', 'md5', 'sha1', 'rmd160', 'sha256', 'sha384', 'sha512', 'sha224'];

function count(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

for (const f of imaFiles) {
  t.test(f.file, async (t) => {
    const events = loadIma(f);
    t.equal(events.length, f.entries, 'entries');
    t.same(events.map((e) => e.index), events.map((_, i) => i), 'indexes from 0');
    t.same([...new Set(events.map((e) => e.templateHash.length))], f.template_hash_size_bytes, 'template hash size');

    const templates: Record<string, number> = {};
    const pcrs: Record<string, number> = {};
    const digestAlgs: Record<string, number> = {};
    const keyids: Record<string, number> = {};
    const sigAlgs: Record<string, number> = {};
    let signed = 0;
    for (const e of events) {
      count(templates, e.templateName);
      count(pcrs, String(e.pcrIndex));
      const info = decodeImaTemplate(e);
      const dng = info.fields.find((x) => x.id === 'd-ng');
      if (dng && info.fileDigest) count(digestAlgs, info.fileDigest.alg);
      if (info.signature) {
        signed++;
        count(keyids, info.signature.subarray(3, 7).toString('hex'));
        count(sigAlgs, KERNEL_HASH[info.signature[2]]);
      }
    }
    t.same(templates, f.templates, 'templates');
    t.same(pcrs, f.pcrs_used, 'PCRs');
    t.same(digestAlgs, f.file_digest_algs, 'file digest algorithms');
    if (f.signatures) {
      t.equal(signed, f.signatures.entries_with_signature, 'signed entries');
      t.same(keyids, f.signatures.keyids, 'key ids');
      t.same(sigAlgs, f.signatures.signature_hash_algs, 'signature hash algorithms');
    }
    if (f.unsigned_entries !== undefined) t.equal(f.entries - signed, f.unsigned_entries, 'unsigned entries');
    if (f.boot_aggregate) {
      const first = decodeImaTemplate(events[0]);
      t.equal(`${first.fileDigest!.alg}:${first.fileDigest!.digest.toString('hex')}`, f.boot_aggregate, 'boot_aggregate entry');
      if (first.fileName !== undefined) t.equal(first.fileName, 'boot_aggregate');
    }

    // Per-event template-hash check and violations, through the replayer that does them.
    const replayer = new ImaReplayer({ templateHashAlg: resolveTemplateHashAlg(templateHashAlgOf(f)), rule: 'as_logged' });
    const checks = events.map((e) => replayer.extend(e));
    t.equal(checks.filter((c) => c === 'violation').length, f.violations_all_zero_template_hash, 'violations');
    t.same(checks.flatMap((c, i) => (c === 'mismatch' ? [i] : [])), f.template_hash_check.mismatch_entry_indexes_0_based, 'template hash mismatches');
  });
}

t.test('custom and built-in templates split into their fields', async (t) => {
  const events = loadIma(imaFile('ibmtss_imatest.bin'));
  const ids = (i: number) => templateFields(events[i]).map((x) => x.id);
  t.same(ids(0), ['d-ng', 'sig'], 'custom "d-ng|sig"');
  t.same(ids(2), ['n-ng', 'sig', 'd-ng']);
  t.same(ids(4), ['n']);
  t.same(ids(6), ['d', 'n'], "legacy 'ima'");
  t.same(ids(14), ['d-ng', 'n-ng', 'evmsig', 'xattrnames', 'xattrlengths', 'xattrvalues', 'iuid', 'igid', 'imode']);
  t.same(ids(16), ['d-ng', 'n-ng', 'sig', 'd-modsig', 'modsig']);
  const ngv2 = decodeImaTemplate(events[15]);
  t.same([ngv2.fileDigest!.type, ngv2.fileDigest!.alg, ngv2.fileDigest!.digest.length], ['ima', 'sha256', 32], 'd-ngv2');
  const modsig = decodeImaTemplate(events[16]);
  t.equal(modsig.modsigDigest!.alg, 'sha256');
  t.equal(modsig.modsig![0], 0x30, 'PKCS#7 DER');
  t.equal(decodeImaTemplate(events[13]).buffer![0], 0x30, 'ima-buf holds a certificate');
  t.equal(decodeImaTemplate(events[4]).fileName, 'boot_aggregate');
  t.equal(templateFieldIds('d-ng|bogus'), null, 'not a field list');
  const unknown = { ...events[7], templateName: 'vendor-template' };
  t.same(templateFields(unknown).map((x) => x.id), [null, null], 'unknown templates still split');
  const short = { ...events[7], templateData: events[7].templateData.subarray(0, 10) };
  t.throws(() => decodeImaTemplate(short), EventLogError);
});

/** Rewrites a little-endian log with big-endian integers, inner field lengths included. */
function toBigEndian(events: ImaEvent[]): Buffer {
  const out: Buffer[] = [];
  for (const e of events) {
    const be32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    const fields = templateFields(e);
    const data = Buffer.concat(fields.flatMap((f) => [be32(f.data.length), f.data]));
    out.push(be32(e.pcrIndex), e.templateHash, be32(e.templateName.length), Buffer.from(e.templateName), be32(data.length), data);
  }
  return Buffer.concat(out);
}

t.test('host byte order: big-endian logs with the option, a clear error without', async (t) => {
  const le = loadIma(imaFile('acs_imasig.bin'));
  const be = toBigEndian(le);
  const parsed = parseImaBinaryLog(be, { bigEndian: true });
  t.equal(parsed.length, le.length);
  t.equal(decodeImaTemplate(parsed[1082]).fileName, '/usr/bin/trojan_badsig', 'inner lengths read big-endian');
  const a = new ImaReplayer({ templateHashAlg: 'sha1', rule: 'as_logged' });
  for (const e of parsed) a.extend(e);
  t.equal(a.pcr('sha1').toString('hex'), imaFile('acs_imasig.bin').expected_pcr10.as_logged.pcrs!.sha1['10']);
  t.throws(() => parseImaBinaryLog(be), /wrong byte order/);
});

t.test('malformed binary logs are rejected with EventLogError', async (t) => {
  const good = fixture(imaFile('ibmtss_imatest.bin').file);
  t.same(parseImaBinaryLog(Buffer.alloc(0)), [], 'empty log: no events');
  for (let len = 1; len < good.length; len += 13) {
    try {
      parseImaBinaryLog(good.subarray(0, len));
    } catch (e) {
      if (!(e instanceof EventLogError)) t.fail(`length ${len}: ${(e as Error).name}`);
    }
  }
  const err = t.throws(() => parseImaBinaryLog(good.subarray(0, good.length - 3))) as EventLogError;
  t.equal(err.eventIndex, 16);
  t.match(err.message, /truncated event/);
  const hugeName = Buffer.from(good);
  hugeName.writeUInt32LE(100000, 24);
  t.throws(() => parseImaBinaryLog(hugeName), { name: 'EventLogError', offset: 0 });
  const hugeData = Buffer.from(good);
  hugeData.writeUInt32LE(0x7fffffff, 28 + 8);
  t.throws(() => parseImaBinaryLog(hugeData), /template data length 2147483647 exceeds/);
  t.throws(() => parseImaBinaryLog(fixture(imaFile('ibmtss_ima_sha384.bin').file)), EventLogError, 'per-bank log read with the wrong hash size');
  t.throws(() => parseImaBinaryLog(good, { templateHashAlg: 'md5' }), EventLogError);
  t.equal(parseImaBinaryLog(good, { templateHashAlg: 0x0004, firstIndex: 100 })[0].index, 100, 'TPM_ALG_ID and start index');
});

t.test('ASCII lines', async (t) => {
  const line = '10 edcfbc3299860219161af60b266f8e2fa1fbd0c0 ima-ng sha1:009b0d8ee8fb8d890fa70f9c8e02b3f1eded1509 /data';
  const e = parseImaAsciiLine(line, 7);
  t.equal(e.index, 7);
  t.equal(decodeImaTemplate(e).fileName, '/data');
  const r = new ImaReplayer({ templateHashAlg: 'sha1' });
  t.equal(r.extend({ ...e, index: 0 }), 'ok', 'rebuilt template data hashes to the logged hash');
  const spaced = parseImaAsciiLine(line.replace('/data', '/my file'), 0);
  t.equal(decodeImaTemplate(spaced).fileName, '/my file');
  const legacy = parseImaAsciiLine(`10 ${'11'.repeat(20)} ima ${'22'.repeat(20)} /bin/sh`, 0);
  t.same(templateFields(legacy).map((x) => x.data.toString('latin1')), ['"'.repeat(20), '/bin/sh']);
  t.throws(() => parseImaAsciiLine('10 abcd', 0), EventLogError);
  t.throws(() => parseImaAsciiLine(`10 ${'00'.repeat(20)} weird-template x`, 0), /unknown template/);
  t.throws(() => parseImaAsciiLine(`99 ${'00'.repeat(20)} ima-ng sha1:00 x`, 0), /bad PCR index/);
  t.throws(() => parseImaAsciiLine(`10 ${'00'.repeat(21)} ima-ng sha1:00 x`, 0), /does not fit/);
  t.throws(() => parseImaAsciiLine(`10 ${'00'.repeat(20)} ima-sig sha1:00 x 03zz`, 0), /malformed hex/);
  t.same(parseImaAsciiLog('\n\n'), [], 'blank lines only');
});
