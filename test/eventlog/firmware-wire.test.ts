import { readFileSync } from 'node:fs';
import t from 'tap';
import { EventLogError } from '../../shared/eventlog/errors.js';
import { parseFirmwareLog } from '../../shared/eventlog/firmware/event.js';
import { replayFirmwareLog } from '../../shared/eventlog/firmware/replay.js';
import { decodeFirmwareWireEvents, encodeFirmwareWireEvent, encodeFirmwareWireEvents } from '../../shared/eventlog/firmware/wire.js';
import { pcrValuesToJson } from '../../shared/eventlog/pcr-values.js';
import { ACS_WIRE_DIR, biosFile, biosFiles, fixture } from './fixtures.js';

const quote = JSON.parse(readFileSync(`${ACS_WIRE_DIR}quote-request-full.json`, 'utf8')) as Record<string, string>;
const wireEvents: Buffer[] = [];
for (let i = 0; quote[`event${i}`] !== undefined; i++) wireEvents.push(Buffer.from(quote[`event${i}`], 'hex'));

t.test('the IBM quote carries the acs_tpm2bios log', async (t) => {
  const fromIbm = decodeFirmwareWireEvents(wireEvents);
  const fromFile = parseFirmwareLog(fixture(biosFile('acs_tpm2bios.bin').file));
  t.equal(wireEvents.length, 27);
  t.equal(fromIbm.format, 'crypto-agile');
  t.same(
    fromIbm.events.map((e) => [e.pcrIndex, e.eventType, e.digests.map((d) => [d.alg, d.digest.toString('hex')]), e.data.toString('hex')]),
    fromFile.events.map((e) => [e.pcrIndex, e.eventType, e.digests.map((d) => [d.alg, d.digest.toString('hex')]), e.data.toString('hex')]),
    'same records, same digest order',
  );
});

t.test('encoding the kernel file gives IBM\'s bytes exactly', async (t) => {
  const ours = encodeFirmwareWireEvents(parseFirmwareLog(fixture(biosFile('acs_tpm2bios.bin').file)));
  t.equal(ours.length, wireEvents.length);
  ours.forEach((b, i) => t.equal(b.toString('hex'), quote[`event${i}`], `event${i}`));
  // Header integers are big-endian, event data (including the Spec ID's own fields) is kept.
  t.equal(ours[0].readUInt32BE(4), 3, 'EV_NO_ACTION big-endian');
  t.equal(ours[0].toString('latin1', 32, 47), 'Spec ID Event03');
});

t.test('every log survives LE file -> BE wire -> log with the same replay', async (t) => {
  for (const f of biosFiles.filter((x) => x.expect_parse === 'ok')) {
    const log = parseFirmwareLog(fixture(f.file));
    const back = decodeFirmwareWireEvents(encodeFirmwareWireEvents(log));
    t.equal(back.format, log.format, f.file);
    t.same(pcrValuesToJson(replayFirmwareLog(back).pcrs), f.replayed_pcrs, f.file);
  }
});

t.test('legacy logs stay TCG_PCR_EVENT on the wire', async (t) => {
  const log = parseFirmwareLog(fixture(biosFile('acs_tpmbios.bin').file));
  const wire = encodeFirmwareWireEvents(log);
  wire.forEach((b, i) => t.equal(b.length, 32 + log.events[i].data.length));
  t.equal(decodeFirmwareWireEvents(wire).format, 'legacy');
});

t.test('malformed wire events are rejected with EventLogError', async (t) => {
  t.throws(() => decodeFirmwareWireEvents([]), EventLogError);
  const trailing = [...wireEvents];
  trailing[3] = Buffer.concat([wireEvents[3], Buffer.from([0])]);
  t.throws(() => decodeFirmwareWireEvents(trailing), { name: 'EventLogError', eventIndex: 3 }, 'trailing byte');
  const short = [...wireEvents];
  short[5] = wireEvents[5].subarray(0, wireEvents[5].length - 1);
  t.throws(() => decodeFirmwareWireEvents(short), { name: 'EventLogError', eventIndex: 5 }, 'truncated');
  const noSha1 = parseFirmwareLog(fixture(biosFile('ibmtss_hp1.bin').file)).events[1];
  t.throws(() => encodeFirmwareWireEvent(noSha1, true), EventLogError, 'a SHA-256-only record has no TCG_PCR_EVENT form');
});
