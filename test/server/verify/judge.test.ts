/**
 * The verification core over plain values: every check runs, the refusal
 * is the first that refuses, and the diagnosis names the PCR (by the
 * substitution hypotheses, single and multi-PCR) and the entries.
 */
import t from 'tap';
import { judgeQuote } from '../../../server/verify/judge.js';
import { subsetsBySize } from '../../../server/verify/hypotheses.js';
import { differingFirmwareEvents } from '../../../server/verify/entries.js';
import { attest, banks, firmwareLog, fwValue, goodFirmware, imaEntry, imaPcr, input, sameBootState } from './scenario.js';

const files = (from: number, n: number, prefix = '/usr/bin/f') => Array.from({ length: n }, (_, i) => imaEntry(from + i, `${prefix}${from + i}`));
const resultOf = (v: ReturnType<typeof judgeQuote>) => Object.fromEntries(v.checks.map((c) => [c.name, c.result]));

t.test('an honest incremental quote is accepted with every check passing', async (t) => {
  const before = files(0, 5);
  const added = files(5, 3);
  const state = sameBootState(before);
  const tpm10 = imaPcr(Buffer.from(state.imapcr.sha256!, 'hex'), added);
  const v = judgeQuote(input({ quote: { attest: attest(goodFirmware(), tpm10), signatureValid: true, firmware: null, ima: { events: added }, imaentry: 5 }, state }, false));
  t.equal(v.refusal, null);
  t.match(v.acceptance, { imaNext: 8, imaAccepted: 3, offWhitelist: [], changed: [] });
  t.match(resultOf(v), { signature: 'pass', nonce: 'pass', 'pcr-selection': 'pass', 'boot-counters': 'pass', 'ima-replay': 'pass', whitelist: 'pass', 'previous-pcrs': 'pass' });
  t.same(v.diagnosis, { summary: 'Accepted: every check passed.', pcrs: [], firmwareEvents: [], imaEntries: [] });
});

t.test('an IMA log rewritten after entry N is PCR 10 only, the firmware PCRs clean', async (t) => {
  const before = files(0, 5);
  const truth = files(5, 4);
  const state = sameBootState(before);
  const tpm10 = imaPcr(Buffer.from(state.imapcr.sha256!, 'hex'), truth);
  // Entries from 7 on rewritten, their template hashes recomputed so each entry looks sound.
  const sent = [...truth.slice(0, 2), imaEntry(7, '/tmp/innocent'), imaEntry(8, '/tmp/harmless')];
  const v = judgeQuote(input({ quote: { attest: attest(goodFirmware(), tpm10), signatureValid: true, firmware: null, ima: { events: sent }, imaentry: 5 }, state }, false));
  t.equal(v.refusal?.reason, 'digest-mismatch');
  t.equal(v.acceptance, null);
  t.same(v.diagnosis.pcrs.map((p) => [p.bank, p.pcr]), [['sha256', 10]], 'PCR 10 alone');
  t.match(v.diagnosis.summary, /IMA log does not reproduce PCR 10 from entry 5/);
  t.same(v.diagnosis.imaEntries, [], 'the rewritten entries carry sound template hashes');
  t.same(v.suspectFirmwarePcrs, []);
  t.match(resultOf(v), { 'ima-replay': 'fail', 'firmware-replay': 'n/a', whitelist: 'pass', 'template-hashes': 'pass' });

  t.test('on a new boot too, with the firmware log replaying to the white list', async (t) => {
    const log = files(0, 6);
    const tpm = imaPcr(Buffer.alloc(32), log);
    const forged = [...log.slice(0, 4), imaEntry(4, '/tmp/x'), imaEntry(5, '/tmp/y')];
    const v = judgeQuote(input({ quote: { attest: attest(goodFirmware(), tpm), signatureValid: true, firmware: firmwareLog(goodFirmware()), ima: { events: forged }, imaentry: 0 }, state }, true));
    t.same(v.diagnosis.pcrs.map((p) => p.pcr), [10]);
    t.match(resultOf(v), { 'firmware-replay': 'pass', 'ima-replay': 'fail' });
  });
});

t.test('a firmware log edited in PCR k names PCR k, with both values', async (t) => {
  const state = sameBootState(files(0, 3));
  const log = files(0, 4);
  const tpm10 = imaPcr(Buffer.alloc(32), log);
  const edited = goodFirmware().set(4, fwValue(4, 'edited'));
  const v = judgeQuote(input({ quote: { attest: attest(goodFirmware(), tpm10), signatureValid: true, firmware: firmwareLog(edited), ima: { events: log }, imaentry: 0 }, state }, true));
  t.equal(v.refusal?.reason, 'digest-mismatch');
  t.same(v.diagnosis.pcrs, [{
    bank: 'sha256', pcr: 4, reason: 'the firmware log does not reproduce the quoted value; the white-listed value does',
    expected: fwValue(4).toString('hex'), replayed: fwValue(4, 'edited').toString('hex'),
  }]);
  t.same(v.suspectFirmwarePcrs, [4]);
  t.match(resultOf(v), { 'firmware-replay': 'fail', 'ima-replay': 'n/a', whitelist: 'fail' });
});

t.test('multi-PCR hypotheses: the smallest substitution that reproduces the digest', async (t) => {
  const state = sameBootState([]);
  const log = files(0, 2);
  const tpm10 = imaPcr(Buffer.alloc(32), log);
  const quoteOf = (tpm: Map<number, Buffer>, sent: Map<number, Buffer>) =>
    judgeQuote(input({ quote: { attest: attest(tpm, tpm10), signatureValid: true, firmware: firmwareLog(sent), ima: { events: log }, imaentry: 0 }, state }, true));

  const two = quoteOf(goodFirmware(), goodFirmware().set(2, fwValue(2, 'x')).set(7, fwValue(7, 'x')));
  t.same(two.diagnosis.pcrs.map((p) => p.pcr), [2, 7], 'two edited PCRs are named together');
  t.equal(two.refusal?.reason, 'digest-mismatch');

  // PCR 3 really changed (the TPM holds the new value and the log says so); PCR 5 was edited in the log only.
  const tpm = goodFirmware().set(3, fwValue(3, 'new firmware'));
  const mixed = quoteOf(tpm, new Map(tpm).set(5, fwValue(5, 'edited')));
  t.same(mixed.diagnosis.pcrs.filter((p) => p.reason.startsWith('the firmware log')).map((p) => p.pcr), [5], 'only the edited PCR is the culprit');
  t.ok(mixed.diagnosis.pcrs.some((p) => p.pcr === 3 && p.reason === 'differs from the white list'), 'the changed PCR is a white-list departure');

  // Firmware edited and the IMA log rewritten: no substitution explains the digest.
  const both = judgeQuote(input({
    quote: { attest: attest(goodFirmware(), tpm10), signatureValid: true, firmware: firmwareLog(goodFirmware().set(6, fwValue(6, 'e'))), ima: { events: [imaEntry(0, '/a'), imaEntry(1, '/b')] }, imaentry: 0 },
    state,
  }, true));
  t.match(both.diagnosis.summary, /no substitution of PCR 6 \(sha256\) by its white-listed value explains it/);
  t.match(resultOf(both), { 'firmware-replay': 'fail', 'ima-replay': 'fail' });

  t.same(subsetsBySize(3), [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]], 'singles first, then pairs');
  t.equal(subsetsBySize(12).length, 13, 'beyond 8 PCRs: each alone and all together');
});

t.test('really different firmware is accepted off the white list, the PCR named', async (t) => {
  const state = sameBootState(files(0, 2));
  const log = files(0, 3);
  const tpm = goodFirmware().set(0, fwValue(0, 'bios update'));
  const v = judgeQuote(input({ quote: { attest: attest(tpm, imaPcr(Buffer.alloc(32), log)), signatureValid: true, firmware: firmwareLog(tpm), ima: { events: log }, imaentry: 0 }, state }, true));
  t.equal(v.refusal, null);
  t.same(v.acceptance!.offWhitelist.map((d) => [d.bank, d.pcr]), [['sha256', 0]]);
  t.same(v.diagnosis.pcrs.filter((p) => p.reason === 'differs from the white list'), [
    { bank: 'sha256', pcr: 0, reason: 'differs from the white list', expected: fwValue(0).toString('hex'), replayed: fwValue(0, 'bios update').toString('hex') },
  ]);
  t.match(v.diagnosis.summary, /^Accepted, but PCR 0 \(sha256\) differs from the white list/);
  t.same(v.suspectFirmwarePcrs, [0]);
});

t.test('every check runs after one fails: an expired nonce still replays and names nothing else wrong', async (t) => {
  const state = sameBootState(files(0, 2));
  const added = files(2, 2);
  const tpm10 = imaPcr(Buffer.from(state.imapcr.sha256!, 'hex'), added);
  const base = input({ quote: { attest: attest(goodFirmware(), tpm10), signatureValid: true, firmware: null, ima: { events: added }, imaentry: 2 }, state }, false);
  const v = judgeQuote({ ...base, now: new Date(base.now.getTime() + 3_600_000) });
  t.equal(v.refusal?.reason, 'nonce-expired');
  t.match(resultOf(v), { nonce: 'fail', 'ima-replay': 'pass', whitelist: 'pass' });
  t.equal(v.acceptance, null, 'refused even though the logs replay');
  t.equal(v.diagnosis.summary, 'Refused: nonce expired.');
});

t.test('a quote not signed by the enrolled AK is not judged further', async (t) => {
  const state = sameBootState([]);
  const v = judgeQuote(input({ quote: { attest: attest(goodFirmware(), Buffer.alloc(32)), signatureValid: false, firmware: null, ima: { events: [] }, imaentry: undefined }, state }, false));
  t.equal(v.refusal?.reason, 'signature');
  t.ok(v.checks.slice(1).every((c) => c.result === 'n/a'));
  t.match(v.diagnosis.summary, /not this host's evidence/);
});

t.test('IMA entries with a bad template hash or signature problems are named on an accepted quote', async (t) => {
  const state = sameBootState([]);
  const log = [imaEntry(0, '/a'), imaEntry(1, '/b', 'template-hash'), { ...imaEntry(2, '/c'), nosig: true }, { ...imaEntry(3, '/d'), nokey: true }, { ...imaEntry(4, '/e'), badsig: true }];
  const v = judgeQuote(input({ quote: { attest: attest(goodFirmware(), imaPcr(Buffer.alloc(32), log)), signatureValid: true, firmware: firmwareLog(goodFirmware()), ima: { events: log }, imaentry: 0 }, state }, true));
  t.equal(v.refusal, null);
  t.same(v.diagnosis.imaEntries, [
    { entrynum: 1, reason: 'template hash does not match its data' },
    { entrynum: 2, reason: 'no signature' },
    { entrynum: 3, reason: 'signed by an unknown key' },
    { entrynum: 4, reason: 'bad signature' },
  ]);
  t.match(resultOf(v), { 'template-hashes': 'fail', 'ima-signatures': 'warn' });

  const ruled = judgeQuote({
    ...input({ quote: { attest: attest(goodFirmware(), imaPcr(Buffer.alloc(32), log)), signatureValid: true, firmware: firmwareLog(goodFirmware()), ima: { events: log }, imaentry: 0 }, state }, true),
    policy: { ...input({ quote: {} as never, state }, true).policy, imaRules: [(e) => (e.filename === '/a' ? 'not on the allow-list' : null)] },
  });
  t.same(ruled.diagnosis.imaEntries[0], { entrynum: 0, reason: 'not on the allow-list' }, 'a policy rule names its entries');
});

t.test('firmware events of a suspect PCR are compared with the last accepted boot', async (t) => {
  const ev = (entrynum: number, pcrIndex: number, digests: string, eventtype = 'EV_EFI_ACTION') => ({ entrynum, pcrIndex, eventtype, digests });
  const accepted = [ev(1, 0, 'a'), ev(2, 4, 'b'), ev(3, 4, 'c'), ev(4, 7, 'd')];
  t.same(differingFirmwareEvents([ev(1, 0, 'a'), ev(2, 4, 'b'), ev(3, 4, 'X'), ev(4, 7, 'd')], accepted, [4]), [
    { entrynum: 3, reason: 'PCR 4: EV_EFI_ACTION digest differs from the last accepted boot\'s (event 3)' },
  ]);
  t.same(differingFirmwareEvents([ev(1, 4, 'b'), ev(2, 4, 'c'), ev(3, 4, 'z', 'EV_SEPARATOR')], accepted, [4]), [
    { entrynum: 3, reason: 'PCR 4: not in the last accepted boot\'s log' },
  ]);
  t.same(differingFirmwareEvents(accepted, accepted, [0, 4, 7]), []);
  t.same(banks(new Map()).sha256.length, 24);
});

t.test('with no white list yet, an entry altered after measurement points at PCR 10', async (t) => {
  const state = { ...sameBootState([]), whitelist: null, previous: null, resetCount: null, restartCount: null, imaevents: null };
  const truth = files(0, 4);
  const tpm10 = imaPcr(Buffer.alloc(32), truth);
  // The file renamed in the log after it was measured: its data changed, its logged template hash did not.
  const renamed = { ...truth[2]!, event: { ...truth[2]!.event, templateData: imaEntry(2, '/usr/bin/bosh').event.templateData } };
  const sent = [truth[0]!, truth[1]!, renamed, truth[3]!];
  const v = judgeQuote(input({ quote: { attest: attest(goodFirmware(), tpm10), signatureValid: true, firmware: firmwareLog(goodFirmware()), ima: { events: sent }, imaentry: 0 }, state }, true));
  t.equal(v.refusal?.reason, 'digest-mismatch');
  t.same(v.diagnosis.pcrs.map((p) => p.pcr), [10]);
  t.same(v.diagnosis.imaEntries, [{ entrynum: 2, reason: 'template hash does not match its data' }]);
  t.match(v.diagnosis.summary, /does not reproduce PCR 10 .*altered after measurement/);
});
