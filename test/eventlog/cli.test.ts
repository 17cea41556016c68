/**
 * `acs-client eventlog`: its --json output compared with EXPECTED.json for
 * every fixture. Most runs parse the arguments with yargs in this process
 * (a Node process per run would make the suite slow); the built CLI is also
 * run as a child process for exit codes and error output.
 */
import { execFile } from 'node:child_process';
import t from 'tap';
import yargs from 'yargs';
import { eventlogCommand } from '../../client/commands/eventlog.js';
import { biosFiles, fixturePath, imaFile, imaFiles, REPO_DIR, templateHashAlgOf, type ImaExpectation } from './fixtures.js';

const CLI = `${REPO_DIR}dist/client/cli.js`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The command through yargs in this process, with stdout and stderr captured. */
async function run(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const write = process.stdout.write;
  const error = console.error;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  console.error = (...parts: unknown[]) => {
    stderr += `${parts.join(' ')}\n`;
  };
  process.exitCode = undefined;
  try {
    await yargs(['eventlog', ...args]).command(eventlogCommand).strict().parseAsync();
  } finally {
    process.stdout.write = write;
    console.error = error;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, stdout, stderr };
}

/** The built CLI in a child process. */
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'eventlog', ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function json(args: string[]): Promise<Record<string, unknown>> {
  const r = await run([...args, '--json']);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line of JSON, got ${lines.length}`);
  return JSON.parse(lines[0]);
}

t.test('--bios --json equals EXPECTED.json for every firmware log', async (t) => {
  for (const f of biosFiles) {
    const path = fixturePath(f.file);
    if (f.expect_parse === 'error') {
      const r = await run(['--bios', path, '--json']);
      t.equal(r.code, 1, `${f.file} exits non-zero`);
      t.equal(r.stdout, '', `${f.file}: nothing on stdout`);
      t.match(r.stderr.trim(), new RegExp(`^acs-client: .*${f.file.split('/').pop()}: (empty firmware event log|event data size 1919248394 exceeds)`), `${f.file}: one clear line`);
      t.equal(r.stderr.trim().split('\n').length, 1);
      continue;
    }
    t.same(await json(['--bios', path]), {
      format: f.format!.startsWith('crypto-agile') ? 'crypto-agile' : 'legacy',
      events: f.events!.records_total,
      pcrs: f.replayed_pcrs,
    }, f.file);
  }
});

interface ImaRun {
  file: ImaExpectation;
  rule: string;
  banks: string[];
}

t.test('--ima --json equals EXPECTED.json for every IMA log and rule', async (t) => {
  const runs: ImaRun[] = [];
  for (const f of imaFiles) {
    for (const [rule, v] of Object.entries(f.expected_pcr10)) {
      if (v.pcrs && rule !== 'per_bank_if_entry_1079_untampered') runs.push({ file: f, rule, banks: Object.keys(v.pcrs) });
    }
  }
  for (const { file: f, rule, banks } of runs) {
    const out = await json(['--ima', fixturePath(f.file), '--hash-alg', templateHashAlgOf(f), '--rule', rule, '--banks', ...banks]);
    t.same(out.pcrs, f.expected_pcr10[rule].pcrs, `${f.file} ${rule}`);
    t.equal(out.events, f.entries);
    t.equal(out.format, f.file.endsWith('.ascii') ? 'ima-ascii' : 'ima-binary');
    t.equal(out.violations, f.violations_all_zero_template_hash);
    t.same(out.templateHashMismatches, f.template_hash_check.mismatch_entry_indexes_0_based);
  }
});

t.test('IMA defaults: SHA-1 template hashes, template-hash bank plus SHA-256, per-bank rule', async (t) => {
  const f = imaFile('ibmtss_imatest.bin');
  const out = await json(['--ima', fixturePath(f.file)]);
  const per = f.expected_pcr10.per_bank_template_data_hash.pcrs!;
  t.same(out.pcrs, { sha1: per.sha1, sha256: per.sha256 });
  t.equal(out.rule, 'per_bank_template_data_hash');
  const ascii = imaFile('keylime_ima-log-sha256.ascii');
  t.same((await json(['--ima', fixturePath(ascii.file)])).templateHashAlg, 'sha1', 'ASCII: algorithm from the hash length');
});

t.test('--ima-keys: signature results', async (t) => {
  const acs = await json(['--ima', fixturePath(imaFile('acs_imasig.bin').file), '--ima-keys', fixturePath('keys/imakey.der')]);
  t.same(acs.signatures, { ok: 896, nosig: 184, nokey: 2, badsig: 1 });
  const keylime = await json([
    '--ima', fixturePath(imaFile('keylime_ima_verification.ascii').file),
    '--ima-keys', fixturePath('keys/keylime_rsa2048pub.pem'), fixturePath('keys/keylime_secp256k1_pub.pem'),
  ]);
  t.same(keylime.signatures, { ok: 2, nosig: 4, nokey: 0, badsig: 0 });
  const bad = await json(['--ima', fixturePath(imaFile('keylime_ima_bad_signature.ascii').file), '--ima-keys', fixturePath('keys/keylime_secp256k1_pub.pem')]);
  t.same(bad.signatures, { ok: 0, nosig: 0, nokey: 0, badsig: 1 });
  t.same(bad.templateHashMismatches, [0]);
});

t.test('human-readable listing', async (t) => {
  const r = await run(['--ima', fixturePath(imaFile('acs_imasig.bin').file), '--ima-keys', fixturePath('keys/imakey.der')]);
  t.equal(r.code, 0);
  const lines = r.stdout.trimEnd().split('\n');
  t.equal(lines.length, 1083 + 4, 'one line per event, a summary, signatures, two PCRs');
  t.match(lines[1079], /^ {2}1079 PCR 10 ima-sig f6418bbe\w+ sha256:\w+ \/usr\/bin\/xautt \[mismatch\] \[sig ok\]$/);
  t.match(lines[1082], /trojan_badsig \[sig badsig\]$/);
  t.equal(lines[lines.length - 1], 'sha256 PCR 10: 8e769b493d06e4670c39b519fec30d7c369dd84c9b3f9c45b91bbb93cb1f18ae');
  const bios = await run(['--bios', fixturePath(biosFiles.find((f) => f.file.endsWith('keylime_binary_bios_measurements.bin'))!.file)]);
  const blines = bios.stdout.trimEnd().split('\n');
  t.match(blines[1], /^ {3}1 PCR {2}0 EV_NO_ACTION +sha1:0{40} StartupLocality 3$/);
  t.ok(blines.includes('startup locality 3'));
  t.ok(blines.includes('sha256 PCR  0: 0ee9a7feba8f4172f1a7451594aa5731665a4d353ac61814042ce107a00742f2'));
});

t.test('input errors', async (t) => {
  const missing = await run(['--ima', '/nonexistent/ima.log']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /^acs-client: \/nonexistent\/ima\.log: ENOENT/);
  const wrongSize = await run(['--ima', fixturePath(imaFile('ibmtss_ima_sha384.bin').file), '--json']);
  t.equal(wrongSize.code, 1, 'a per-bank SHA-384 log read as SHA-1 is malformed');
  t.equal(wrongSize.stdout, '');
});

t.test('the built acs-client binary', async (t) => {
  const good = biosFiles.find((f) => f.file.endsWith('ibmtss_dell1.bin'))!;
  const ok = await cli(['--bios', fixturePath(good.file), '--json']);
  t.equal(ok.code, 0);
  t.same(JSON.parse(ok.stdout).pcrs, good.replayed_pcrs);
  const bogus = await cli(['--bios', fixturePath('eventlogs/bios/keylime_binary_bios_measurements_bogus.bin'), '--json']);
  t.equal(bogus.code, 1);
  t.equal(bogus.stdout, '');
  t.match(bogus.stderr, /^acs-client: \S+_bogus\.bin: event data size 1919248394 exceeds the remaining 2 bytes \(event 0, offset 0\)\n$/);
  const neither = await cli([]);
  t.not(neither.code, 0);
  t.match(neither.stderr, /exactly one of --bios FILE or --ima FILE/);
});
