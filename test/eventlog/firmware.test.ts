import { hash } from 'node:crypto';
import t from 'tap';
import { HASH_ALGS, TPM_ALG, type HashAlg } from '../../shared/tpm/constants.js';
import { EventLogError, ReplayError } from '../../shared/eventlog/errors.js';
import { EV, eventTypeName } from '../../shared/eventlog/firmware/event-types.js';
import { firmwareLogBanks, parseFirmwareLog, type FirmwareLog } from '../../shared/eventlog/firmware/event.js';
import { bootAggregate, checkFirmwarePcrs, replayFirmwareLog, replayedPcrValue } from '../../shared/eventlog/firmware/replay.js';
import { extendPcr, parseBankLabel, pcrValuesToJson, type PcrValues } from '../../shared/eventlog/pcr-values.js';
import { biosFile, biosFiles, fixture, type PcrJson } from './fixtures.js';

function pcrValues(json: PcrJson): PcrValues {
  return new Map(Object.entries(json).map(([bank, pcrs]) => [
    parseBankLabel(bank),
    new Map(Object.entries(pcrs).map(([pcr, hex]) => [Number(pcr), Buffer.from(hex, 'hex')])),
  ]));
}

const algName = (id: number) => HASH_ALGS.get(id)!.name;

for (const f of biosFiles.filter((x) => x.expect_parse === 'ok')) {
  t.test(f.file, async (t) => {
    const log = parseFirmwareLog(fixture(f.file));
    const ev = f.events!;
    t.equal(log.events.length, ev.records_total, 'records');
    t.equal(log.format, f.format!.startsWith('crypto-agile') ? 'crypto-agile' : 'legacy', 'format');
    t.same(firmwareLogBanks(log).map(algName), f.banks, 'banks in Spec ID order');
    if (f.spec_id_event) {
      const s = log.specId!;
      t.same(
        { platformClass: s.platformClass, specVersion: `${s.specVersionMajor}.${s.specVersionMinor}`, errata: s.errata, uintnSize: s.uintnSize, vendorInfoSize: s.vendorInfo.length },
        { platformClass: f.spec_id_event.platformClass, specVersion: f.spec_id_event.specVersion, errata: f.spec_id_event.errata, uintnSize: f.spec_id_event.uintnSize, vendorInfoSize: f.spec_id_event.vendorInfoSize },
      );
      t.same(s.algorithms.map((a) => a.digestSize), f.spec_id_event.algorithms.map((a) => a.size), 'digest sizes');
    } else {
      t.equal(log.specId, null);
    }

    const types: Record<string, number> = {};
    const perPcr: Record<string, number> = {};
    for (const e of log.events) {
      types[eventTypeName(e.eventType)] = (types[eventTypeName(e.eventType)] ?? 0) + 1;
      if (e.eventType !== EV.NO_ACTION) perPcr[e.pcrIndex] = (perPcr[e.pcrIndex] ?? 0) + 1;
    }
    t.same(types, ev.event_types, 'event type counts');
    t.same(perPcr, ev.measurement_events_per_pcr, 'measurements per PCR');
    if (ev.records_missing_some_bank_digests) {
      const banks = firmwareLogBanks(log);
      const missing = log.events.filter((e) => e.index > 0 && banks.some((b) => !e.digests.some((d) => d.alg === b))).map((e) => e.index);
      t.same(missing, ev.records_missing_some_bank_digests, 'records lacking a bank digest');
    }

    const replay = replayFirmwareLog(log);
    t.equal(replay.startupLocality, f.startup_locality ?? null, 'startup locality');
    t.same(pcrValuesToJson(replay.pcrs), f.replayed_pcrs, 'every bank, every PCR');
    t.doesNotThrow(() => checkFirmwarePcrs(replay, pcrValues(f.replayed_pcrs!)));

    for (const [name, hex] of Object.entries(f.boot_aggregate ?? {})) {
      const [, alg, last] = /^(sha1|sha256)_pcr0_(\d)$/.exec(name)!;
      if (f.file.endsWith('goatt_short_no_action.bin')) {
        // EXPECTED counts the never-extended PCR 0 as zero; after a locality-3
        // startup the TPM holds 00..03 there, which is what the replay reports.
        t.equal(hex, hash('sha1', Buffer.alloc(160), 'hex'));
        t.equal(replayedPcrValue(replay, 'sha1', 0).toString('hex'), `${'00'.repeat(19)}03`);
        continue;
      }
      t.equal(bootAggregate(replay, alg as HashAlg, Number(last)).toString('hex'), hex, name);
    }
  });
}

t.test('known-good TPM PCRs', async (t) => {
  const rom = biosFile('goatt_option_rom.bin');
  t.doesNotThrow(() => checkFirmwarePcrs(replayFirmwareLog(parseFirmwareLog(fixture(rom.file))), pcrValues(rom.tpm_pcrs_known_good!.pcrs)));

  // The log lacks the two Exit Boot Services events the TPM extended into PCR 5.
  const ebs = biosFile('goatt_ebs_event_missing.bin');
  const log = parseFirmwareLog(fixture(ebs.file));
  const replay = replayFirmwareLog(log);
  const tpm = pcrValues({ sha1: ebs.tpm_pcrs_known_good!.pcrs.sha1 });
  const err = t.throws(() => checkFirmwarePcrs(replay, tpm)) as ReplayError;
  t.ok(err instanceof ReplayError);
  t.same(err.invalidPcrs.map((m) => [m.bank, m.pcr]), [['sha1', 5]], 'names exactly the failing PCR');
  t.equal(err.invalidPcrs[0].replayed, ebs.replayed_pcrs!.sha1['5']);
  let pcr5 = replay.pcrs.get('sha1')!.get(5)!;
  for (const s of ebs.pcr5_after_ebs_workaround!.appended) pcr5 = extendPcr('sha1', pcr5, hash('sha1', s, 'buffer'));
  t.equal(pcr5.toString('hex'), ebs.pcr5_after_ebs_workaround!.sha1);
});

t.test('ReplayError names every failing PCR in every bank', async (t) => {
  const f = biosFile('ibmtss_dell1.bin');
  const replay = replayFirmwareLog(parseFirmwareLog(fixture(f.file)));
  const wrong = pcrValues(f.replayed_pcrs!);
  wrong.get('sha256')!.get(0)![0] ^= 1;
  wrong.get('sha1')!.get(7)![5] ^= 1;
  wrong.get('sha256')!.set(16, Buffer.alloc(32, 1)); // never extended: compared with its reset value
  const err = t.throws(() => checkFirmwarePcrs(replay, wrong)) as ReplayError;
  t.same(err.invalidPcrs.map((m) => `${m.bank}:${m.pcr}`).sort(), ['sha1:7', 'sha256:0', 'sha256:16']);
  t.match(err.message, /sha256:0/);
});

t.test('reset values: locality for PCR 0, 0xFF for PCRs 17-22', async (t) => {
  const replay = replayFirmwareLog(parseFirmwareLog(fixture(biosFile('goatt_short_no_action.bin').file)));
  t.same(pcrValuesToJson(replay.pcrs), { sha1: {} }, 'nothing extended');
  t.equal(replayedPcrValue(replay, 'sha1', 17).toString('hex'), 'ff'.repeat(20));
  t.equal(replayedPcrValue(replay, 'sha1', 16).toString('hex'), '00'.repeat(20));
});

t.test('PCR index 0xFFFFFFFF records are kept but never extended', async (t) => {
  for (const name of ['goatt_option_rom.bin', 'ibmtss_ideapad1.bin', 'ibmtss_p511.bin']) {
    const log = parseFirmwareLog(fixture(biosFile(name).file));
    const last = log.events[log.events.length - 1];
    t.equal(last.pcrIndex, 0xffffffff, name);
    for (const bank of replayFirmwareLog(log).pcrs.values()) t.notOk(bank.has(0xffffffff));
  }
});

t.test('digests are matched by algorithm id, not position', async (t) => {
  const f = biosFile('acs_tpm2bios.bin');
  const log: FirmwareLog = parseFirmwareLog(fixture(f.file));
  const orders = new Set(log.events.slice(1).map((e) => e.digests.map((d) => d.alg).join(',')));
  t.same([...orders].sort(), [`${TPM_ALG.SHA1},${TPM_ALG.SHA256}`, `${TPM_ALG.SHA256},${TPM_ALG.SHA1}`].sort(), 'both orders occur');
  t.equal(log.events[0].digests[0].digest.toString('hex'), '0000000000055a48000001004628fcb000000000', 'non-zero Spec ID header digest kept');
});

t.test('malformed logs are rejected with EventLogError', async (t) => {
  const bogus = t.throws(() => parseFirmwareLog(fixture(biosFile('keylime_binary_bios_measurements_bogus.bin').file))) as EventLogError;
  t.ok(bogus instanceof EventLogError);
  t.match(bogus.message, /event data size 1919248394 exceeds/);
  t.equal(bogus.eventIndex, 0);
  t.equal(bogus.offset, 0);
  t.throws(() => parseFirmwareLog(fixture(biosFile('keylime_binary_bios_measurements_empty.bin').file)), EventLogError);

  const good = fixture(biosFile('ibmtss_sm2.bin').file);
  // Every truncation ends inside some record: a typed error, never anything else.
  for (let len = 1; len < good.length; len += 7) {
    try {
      parseFirmwareLog(good.subarray(0, len));
    } catch (e) {
      if (!(e instanceof EventLogError)) t.fail(`length ${len}: ${(e as Error).name}`);
    }
  }
  const badCount = Buffer.from(good);
  const second = parseFirmwareLog(good).events[1];
  const at = good.indexOf(second.data) - 4 - second.digests.reduce((n, d) => n + 2 + d.digest.length, 0) - 4;
  badCount.writeUInt32LE(0xffff, at);
  t.throws(() => parseFirmwareLog(badCount), { name: 'EventLogError', eventIndex: 1 }, 'absurd digest count');
  const badAlg = Buffer.from(good);
  badAlg.writeUInt16LE(0x0099, at + 4);
  t.throws(() => parseFirmwareLog(badAlg), /0x0099 is not in the Spec ID event/);
});
