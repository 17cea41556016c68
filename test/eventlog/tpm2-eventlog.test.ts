/**
 * Cross-check with an independent implementation: Debian's tpm2_eventlog
 * (tpm2-tools 5.4). fixtures/README.md lists where it is known to be wrong
 * (it extends EV_NO_ACTION records, ignores StartupLocality) or refuses a log
 * (PCR index -1, non-zero Spec ID digest); those logs are compared on the
 * documented values, or on a copy with the offending record removed or zeroed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { parseFirmwareLog } from '../../shared/eventlog/firmware/event.js';
import { replayFirmwareLog } from '../../shared/eventlog/firmware/replay.js';
import { pcrValuesToJson } from '../../shared/eventlog/pcr-values.js';
import { biosFile, biosFiles, fixture, fixturePath, type PcrJson } from './fixtures.js';

const run = promisify(execFile);

/** The `pcrs:` section of tpm2_eventlog's YAML. */
async function toolPcrs(path: string): Promise<PcrJson> {
  const { stdout } = await run('tpm2_eventlog', [path], { maxBuffer: 64 << 20 });
  const out: PcrJson = {};
  let bank: Record<string, string> | null = null;
  for (const line of stdout.slice(stdout.lastIndexOf('\npcrs:')).split('\n')) {
    const b = /^ {2}(\w+):$/.exec(line);
    if (b) out[b[1]] = bank = {};
    const p = /^ {4}(\d+)\s*: 0x([0-9a-fA-F]+)$/.exec(line);
    if (p && bank) bank[p[1]] = p[2].toLowerCase();
  }
  return out;
}

function ours(bytes: Buffer): PcrJson {
  return pcrValuesToJson(replayFirmwareLog(parseFirmwareLog(bytes)).pcrs);
}

/** Byte length of each record of a little-endian log, in order. */
function recordSizes(bytes: Buffer): number[] {
  const log = parseFirmwareLog(bytes);
  return log.events.map((e, i) =>
    i === 0 || log.format === 'legacy'
      ? 32 + e.data.length
      : 16 + e.digests.reduce((n, d) => n + 2 + d.digest.length, 0) + e.data.length);
}

const dir = await mkdtemp(join(tmpdir(), 'eventlog-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

for (const f of biosFiles.filter((x) => x.tpm2_eventlog.result === 'agrees')) {
  t.test(`${f.file}: tpm2_eventlog agrees`, async (t) => {
    t.same(await toolPcrs(fixturePath(f.file)), ours(fixture(f.file)));
  });
}

for (const f of biosFiles.filter((x) => x.tpm2_eventlog.result === 'differs')) {
  t.test(`${f.file}: tpm2_eventlog differs only where its bugs are documented`, async (t) => {
    const tool = await toolPcrs(fixturePath(f.file));
    const mine = ours(fixture(f.file));
    const differ = f.tpm2_eventlog.tpm2_eventlog_values_that_differ!;
    for (const [bank, pcrs] of Object.entries(mine)) {
      for (const [pcr, value] of Object.entries(pcrs)) {
        t.equal(tool[bank][pcr], differ[bank]?.[pcr] ?? value, `${bank} PCR ${pcr}`);
      }
    }
    t.ok(Object.keys(differ.sha256).every((pcr) => mine.sha256[pcr] !== tool.sha256[pcr]), 'the documented PCRs do differ');
  });
}

t.test('refused logs agree once the offending record is removed or zeroed', async (t) => {
  for (const name of ['ibmtss_ideapad1.bin', 'ibmtss_p511.bin']) {
    const bytes = fixture(biosFile(name).file);
    const sizes = recordSizes(bytes);
    const trimmed = bytes.subarray(0, bytes.length - sizes[sizes.length - 1]);
    const path = join(dir, name);
    await writeFile(path, trimmed);
    t.same(await toolPcrs(path), ours(bytes), `${name} without its PCR -1 record`);
  }
  const acs = Buffer.from(fixture(biosFile('acs_tpm2bios.bin').file));
  acs.fill(0, 8, 28); // the Spec ID event's legacy digest
  const path = join(dir, 'acs_tpm2bios.bin');
  await writeFile(path, acs);
  t.same(await toolPcrs(path), ours(fixture(biosFile('acs_tpm2bios.bin').file)), 'acs_tpm2bios with a zero Spec ID digest');
});
