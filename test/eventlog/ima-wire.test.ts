import { readFileSync } from 'node:fs';
import t from 'tap';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import { EventLogError } from '../../shared/eventlog/errors.js';
import { parseImaAsciiLine } from '../../shared/eventlog/ima/ascii.js';
import { parseImaBinaryLog } from '../../shared/eventlog/ima/event.js';
import { decodeImaWireEvent, encodeImaWireEvent } from '../../shared/eventlog/ima/wire.js';
import { ACS_WIRE_DIR, fixture, imaFile, loadIma } from './fixtures.js';

const quote = JSON.parse(readFileSync(`${ACS_WIRE_DIR}quote-request-full.json`, 'utf8')) as Record<string, string>;
const events = parseImaBinaryLog(fixture(imaFile('acs_imasig.bin').file));

t.test('the IBM quote carries acs_imasig, and we encode it byte for byte', async (t) => {
  t.equal(quote.templatehashalg, '0004');
  t.equal(Object.keys(quote).filter((k) => k.startsWith('imaevent')).length, events.length);
  let same = 0;
  for (const e of events) if (encodeImaWireEvent(e, 'sha1').toString('hex') === quote[`imaevent${e.index}`]) same++;
  t.equal(same, 1083, 'imaevent0..imaevent1082 identical');
});

t.test('decoding IBM events gives the kernel log\'s events', async (t) => {
  for (const i of [0, 1, 591, 1079, 1082]) {
    const d = decodeImaWireEvent(Buffer.from(quote[`imaevent${i}`], 'hex'), i, TPM_ALG.SHA1);
    const e = events[i];
    t.same([d.index, d.pcrIndex, d.templateName, d.templateHash.toString('hex'), d.templateData.toString('hex'), d.littleEndian],
      [e.index, e.pcrIndex, e.templateName, e.templateHash.toString('hex'), e.templateData.toString('hex'), true], `imaevent${i}`);
  }
});

t.test('the older form without the algorithm field', async (t) => {
  const old = encodeImaWireEvent(events[5]);
  t.equal(old.length, encodeImaWireEvent(events[5], 'sha1').length - 2);
  const d = decodeImaWireEvent(old, 5);
  t.ok(d.templateHash.equals(events[5].templateHash) && d.templateData.equals(events[5].templateData));
  t.equal(decodeImaWireEvent(Buffer.from(quote.imaevent5, 'hex'), 5).templateName, 'ima-sig', 'without templatehashalg the new form still parses');
  t.throws(() => decodeImaWireEvent(old, 5, TPM_ALG.SHA1), EventLogError, 'with templatehashalg the field is required');
});

t.test('other hash sizes and the legacy ima template', async (t) => {
  const sha384 = loadIma(imaFile('ibmtss_ima_sha384.bin'))[3];
  const wire = encodeImaWireEvent(sha384, 'sha384');
  t.equal(wire.readUInt16BE(4), TPM_ALG.SHA384);
  t.equal(decodeImaWireEvent(wire, 3, TPM_ALG.SHA384).templateHash.length, 48);
  t.throws(() => decodeImaWireEvent(wire, 3, TPM_ALG.SHA256), /differs from templatehashalg/);
  const legacy = parseImaAsciiLine(`10 ${'11'.repeat(20)} ima ${'22'.repeat(20)} /bin/sh`, 0);
  const lw = encodeImaWireEvent(legacy, 'sha1');
  t.equal(lw.readUInt32BE(4 + 2 + 20 + 4 + 3), 24 + 7, "the 'ima' template gets a data length on the wire");
  t.ok(decodeImaWireEvent(lw, 0, TPM_ALG.SHA1).templateData.equals(legacy.templateData));
});

t.test('malformed wire events are rejected with EventLogError', async (t) => {
  const good = Buffer.from(quote.imaevent10, 'hex');
  const cases: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['truncated', good.subarray(0, good.length - 1)],
    ['trailing byte', Buffer.concat([good, Buffer.from([0])])],
    ['unknown algorithm', Buffer.concat([good.subarray(0, 4), Buffer.from([0x00, 0x99]), good.subarray(6)])],
  ];
  const huge = Buffer.from(good);
  huge.writeUInt32BE(0xfffffff0, 26);
  cases.push(['huge name length', huge]);
  for (const [what, bytes] of cases) {
    t.throws(() => decodeImaWireEvent(bytes, 10, TPM_ALG.SHA1), { name: 'EventLogError', eventIndex: 10 }, what);
  }
});
