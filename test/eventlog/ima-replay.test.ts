import t from 'tap';
import type { HashAlg } from '../../shared/tpm/constants.js';
import { EventLogError } from '../../shared/eventlog/errors.js';
import { parseImaBinaryLog, resolveTemplateHashAlg } from '../../shared/eventlog/ima/event.js';
import { ImaReplayer, type ImaReplayRule } from '../../shared/eventlog/ima/replay.js';
import { parseBankLabel } from '../../shared/eventlog/pcr-values.js';
import { fixture, imaFile, imaFiles, loadIma, templateHashAlgOf } from './fixtures.js';

const RULES: Record<string, ImaReplayRule> = {
  as_logged: 'as_logged',
  per_bank_template_data_hash: 'per_bank_template_data_hash',
  sha1_zero_padded: 'sha1_zero_padded',
};

for (const f of imaFiles) {
  t.test(`${f.file}: PCR 10 under every rule`, async (t) => {
    const events = loadIma(f);
    const templateHashAlg = resolveTemplateHashAlg(templateHashAlgOf(f));
    for (const [name, rule] of Object.entries(RULES)) {
      const pcrs = f.expected_pcr10[name]?.pcrs;
      if (!pcrs) continue;
      const banks = Object.keys(pcrs).map(parseBankLabel);
      // Under sha1_zero_padded the SHA-1 bank itself holds the logged hashes.
      const r = new ImaReplayer({ templateHashAlg, banks: rule === 'sha1_zero_padded' ? ['sha1', ...banks] : banks, rule });
      for (const e of events) r.extend(e);
      for (const [bank, want] of Object.entries(pcrs)) t.equal(r.pcr(parseBankLabel(bank)).toString('hex'), want['10'], `${name} ${bank}`);
      if (rule === 'sha1_zero_padded') t.equal(r.pcr('sha1').toString('hex'), f.expected_pcr10.as_logged.pcrs!.sha1['10'], 'sha1 bank as logged');
    }
    for (const [bank, want] of Object.entries(f.tpm_pcrs_known_good?.pcrs ?? {})) {
      const r = new ImaReplayer({ templateHashAlg, banks: [parseBankLabel(bank)] });
      for (const e of events) r.extend(e);
      t.equal(r.pcr(parseBankLabel(bank)).toString('hex'), want['10'], `real vTPM ${bank} PCR 10`);
    }
  });
}

const acs = imaFile('acs_imasig.bin');
const acsEvents = loadIma(acs);
const BANKS: HashAlg[] = ['sha1', 'sha256'];

t.test('incremental replay: values after the first n entries', async (t) => {
  const perBank = new ImaReplayer({ templateHashAlg: 'sha1', banks: BANKS });
  const padded = new ImaReplayer({ templateHashAlg: 'sha1', banks: BANKS, rule: 'sha1_zero_padded' });
  for (const e of acsEvents) {
    perBank.extend(e);
    padded.extend(e);
    const want = acs.pcr10_after_first_n_entries![String(e.index + 1)];
    if (!want) continue;
    t.equal(perBank.pcr('sha1').toString('hex'), want.sha1, `sha1 after ${e.index + 1}`);
    t.equal(perBank.pcr('sha256').toString('hex'), want.sha256_per_bank, `sha256 per bank after ${e.index + 1}`);
    t.equal(padded.pcr('sha256').toString('hex'), want.sha256_sha1_zero_padded, `sha256 zero padded after ${e.index + 1}`);
  }
});

t.test('resuming from a stored state gives the same values as one pass', async (t) => {
  const first = new ImaReplayer({ templateHashAlg: 'sha1', banks: BANKS });
  first.extend(acsEvents[0]);
  const stored = first.state();
  t.equal(stored.nextIndex, 1);
  const resumed = new ImaReplayer({ templateHashAlg: 'sha1', banks: BANKS, start: stored });
  first.extend(acsEvents[1]); // the stored state is a copy, unaffected by later extends
  t.equal(resumed.nextIndex, 1);
  for (const e of acsEvents.slice(1, 1079)) resumed.extend(e);
  const want = acs.pcr10_after_first_n_entries!['1079'];
  t.equal(resumed.pcr('sha1').toString('hex'), want.sha1);
  t.equal(resumed.pcr('sha256').toString('hex'), want.sha256_per_bank);
  t.throws(() => resumed.extend(acsEvents[0]), { name: 'EventLogError', message: /out of order: expected 1079/ });
});

t.test('the server loop: stop at the first prefix that matches the quoted PCR', async (t) => {
  const quoted = acs.pcr10_after_first_n_entries!['1079'].sha256_per_bank;
  const r = new ImaReplayer({ templateHashAlg: 'sha1', banks: ['sha256'] });
  let matchedAfter = -1;
  for (const e of acsEvents) {
    r.extend(e);
    if (r.pcr('sha256').toString('hex') === quoted) {
      matchedAfter = r.nextIndex;
      break;
    }
  }
  t.equal(matchedAfter, 1079);
});

t.test('an entry altered after measuring: caught per entry, and in every bank', async (t) => {
  const r = new ImaReplayer({ templateHashAlg: 'sha1', banks: ['sha1', 'sha256', 'sha384', 'sha512'] });
  const checks = acsEvents.map((e) => r.extend(e));
  t.equal(checks[1079], 'mismatch');
  t.equal(checks.filter((c) => c !== 'ok').length, 1);
  t.not(r.pcr('sha1').toString('hex'), acs.expected_pcr10.as_logged.pcrs!.sha1['10'], 'per-bank SHA-1 does not reproduce the TPM');

  // Restore "/usr/bin/xauth", the name the kernel measured: now every bank matches a real TPM.
  const bytes = Buffer.from(fixture(acs.file));
  const at = bytes.indexOf('/usr/bin/xautt\0');
  bytes.write('h', at + '/usr/bin/xaut'.length, 'latin1');
  const fixed = new ImaReplayer({ templateHashAlg: 'sha1', banks: ['sha1', 'sha256', 'sha384', 'sha512'] });
  const fixedChecks = parseImaBinaryLog(bytes).map((e) => fixed.extend(e));
  t.ok(fixedChecks.every((c) => c === 'ok'));
  for (const [bank, want] of Object.entries(acs.expected_pcr10.per_bank_if_entry_1079_untampered.pcrs!)) {
    t.equal(fixed.pcr(parseBankLabel(bank)).toString('hex'), want['10'], bank);
  }
});

t.test('the template-hash check can be left to the replay', async (t) => {
  const fast = new ImaReplayer({ templateHashAlg: 'sha1', banks: ['sha256'], checkTemplateHash: false });
  const checks = acsEvents.map((e) => fast.extend(e));
  t.ok(checks.every((c) => c === 'unchecked'));
  t.equal(fast.pcr('sha256').toString('hex'), acs.expected_pcr10.per_bank_template_data_hash.pcrs!.sha256['10'], 'same PCR');
  const free = new ImaReplayer({ templateHashAlg: 'sha1', banks: ['sha1', 'sha256'], checkTemplateHash: false });
  t.equal(acsEvents.map((e) => free.extend(e))[1079], 'mismatch', 'still checked when the SHA-1 bank digest is computed anyway');
});

t.test('violations extend 0xFF and are reported', async (t) => {
  const f = imaFile('ibmtss_imatest.bin');
  const events = loadIma(f);
  const r = new ImaReplayer({ templateHashAlg: 'sha1', banks: ['sha256'] });
  t.same(events.map((e) => r.extend(e)).flatMap((c, i) => (c === 'violation' ? [i] : [])), [6]);
  t.equal(r.pcr('sha256').toString('hex'), f.expected_pcr10.per_bank_template_data_hash.pcrs!.sha256['10']);
  t.equal(r.pcr('sha256', 11).toString('hex'), '00'.repeat(32), 'untouched PCRs read as zeros');
});

t.test('bad replay settings and events are refused', async (t) => {
  t.throws(() => new ImaReplayer({ templateHashAlg: 'sha256', rule: 'sha1_zero_padded' }), RangeError);
  t.throws(() => new ImaReplayer({ templateHashAlg: 'sha1', banks: ['sha256'], rule: 'as_logged' }), RangeError);
  const stored = new Map([['sha256' as HashAlg, new Map([[10, Buffer.alloc(20)]])]]);
  t.throws(() => new ImaReplayer({ templateHashAlg: 'sha1', banks: ['sha256'], start: { nextIndex: 5, pcrs: stored } }), RangeError);
  const r = new ImaReplayer({ templateHashAlg: 'sha256' });
  t.throws(() => r.extend(acsEvents[0]), EventLogError, 'SHA-1 hash in a SHA-256 replay');
  t.throws(() => r.pcr('sha384'), RangeError);
});
