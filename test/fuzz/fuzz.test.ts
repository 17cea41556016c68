/**
 * A bounded fuzz run of every target must end with zero findings; first the
 * harness proves on planted bugs that it reports crashes, hangs, stalled
 * promises and stray rejections, and that a saved finding replays.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crashes, loops, rejectsTyped, stalls, strays } from './canary-targets.js';
import { findingText, fuzzTarget, replayInput, summaryLine, totalLine, type TargetReport } from './engine.js';
import { inputRng } from './mutate.js';
import { TARGETS, generateInput, loadTargets } from './targets.js';

/** Per target: all targets together take about 25 s of CPU on an idle machine, run in two lanes. */
const ITERATIONS = 20_000;
const SEED = 1;
const CANARY = new URL('./canary-targets.js', import.meta.url).href;

/** The inputs a canary run will see, rebuilt here independently of the worker. */
async function canaryInputs(name: string, count: number): Promise<Buffer[]> {
  const target = (await loadTargets(CANARY)).find((x) => x.name === name)!;
  const corpus = target.corpus();
  return Array.from({ length: count }, (_, n) => generateInput(target, corpus, inputRng(SEED, name, n)));
}

function indexes(inputs: Buffer[], pick: (b: Buffer) => boolean): number[] {
  return inputs.flatMap((b, n) => (pick(b) ? [n] : []));
}

t.test('the harness reports planted bugs and replays them', async (t) => {
  const outDir = mkdtempSync(join(tmpdir(), 'fuzz-canary-'));
  t.teardown(() => rmSync(outDir, { recursive: true, force: true }));
  const opts = { seed: SEED, outDir, module: CANARY };

  const crashInputs = await canaryInputs('canary-crash', 3000);
  const crashAt = indexes(crashInputs, crashes);
  t.ok(crashAt.length > 0 && indexes(crashInputs, rejectsTyped).length > 0, 'the mutators reach both planted paths');
  const crash = await fuzzTarget('canary-crash', { ...opts, iterations: 3000 });
  t.equal(crash.findingCount, crashAt.length, 'every untyped error is a finding, no typed one is');
  t.ok(crash.findings.every((f) => f.kind === 'crash' && f.error === 'TypeError: planted crash'));
  const first = crash.findings[0];
  t.equal(first.n, crashAt[0]);
  t.same(readFileSync(first.file!), crashInputs[first.n], 'the saved input is the input that failed');
  t.equal((await replayInput('canary-crash', readFileSync(first.file!), CANARY)).outcome, 'finding');
  t.equal((await replayInput('canary-crash', Buffer.alloc(50), CANARY)).outcome, 'typed error');

  const hangInputs = await canaryInputs('canary-hang', 200);
  const loopAt = indexes(hangInputs, loops);
  const stallAt = indexes(hangInputs, stalls);
  // Fewer loops than the restarts the engine allows, so the run goes to its end.
  t.ok(loopAt.length > 0 && loopAt.length < 5 && stallAt.length > 0, 'both kinds of hang occur');
  const hang = await fuzzTarget('canary-hang', { ...opts, iterations: 200, budgetMs: 300 });
  t.same(hang.findings.map((f) => f.n).sort((a, b) => a - b), [...loopAt, ...stallAt].sort((a, b) => a - b),
    'each hang is found at its input');
  t.ok(hang.findings.every((f) => f.kind === 'hang'));
  t.same(readFileSync(hang.findings.find((f) => f.n === loopAt[0])!.file!), hangInputs[loopAt[0]],
    'a stopped worker\'s input is rebuilt and saved');
  t.equal(hang.inputs, 200);

  const strayInputs = await canaryInputs('canary-rejection', 2000);
  const rejection = await fuzzTarget('canary-rejection', { ...opts, iterations: 2000 });
  t.ok(rejection.findingCount > 0);
  t.same(rejection.findings.map((f) => f.n), indexes(strayInputs, strays).slice(0, 3),
    'every unhandled rejection is a finding at its input (the first three inputs of one bug are kept)');
  t.equal(rejection.findingCount, indexes(strayInputs, strays).length);
  t.ok(rejection.findings.every((f) => f.kind === 'rejection' && f.error === 'Error: planted stray rejection'));
});

t.test(`every parser: ${ITERATIONS} mutated fixtures per target, no findings`, async (t) => {
  const reports = new Map<string, TargetReport>();
  const queue = TARGETS.map((x) => x.name);
  const lane = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      reports.set(name, await fuzzTarget(name, { iterations: ITERATIONS, seed: SEED }));
    }
  };
  await Promise.all([lane(), lane()]);
  for (const { name } of TARGETS) {
    const r = reports.get(name)!;
    t.comment(summaryLine(r));
    t.ok(r.seeds > 0, `${name}: has seeds`);
    t.equal(r.inputs, ITERATIONS, `${name}: every input ran`);
    t.equal(r.findingCount, 0, `${name}: no findings\n${r.findings.map(findingText).join('\n')}`);
  }
  t.comment(totalLine([...reports.values()]));
});
