/**
 * `npm run fuzz`: seeded, deterministic fuzzing of every parser.
 *
 *   node dist/test/fuzz/run.js [--iterations N | --long] [--seed S] [--target NAME ...] [--jobs J]
 *   node dist/test/fuzz/run.js --target NAME --replay test/output/fuzz/NAME-S-N.bin
 *
 * Prints one line per target and a total; exits 1 when there are findings.
 */
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { findingText, fuzzTarget, replayInput, summaryLine, totalLine, type TargetReport } from './engine.js';
import { TARGETS } from './targets.js';

const argv = await yargs(hideBin(process.argv))
  .scriptName('fuzz')
  .usage('$0 [options]\n\nMutates the fixtures and feeds them to every parser; any error that is not the parser\'s own is a finding.')
  .option('iterations', { type: 'number', describe: 'inputs per target (default 20000; 1000000 with --long)' })
  .option('long', { type: 'boolean', default: false, describe: 'a long run: 1,000,000 inputs per target' })
  .option('seed', { type: 'number', default: 1, describe: 'PRNG seed (0 to 4294967295)' })
  .option('target', { type: 'string', array: true, describe: `target to run (repeatable; default all): ${TARGETS.map((t) => t.name).join(', ')}` })
  .option('jobs', { type: 'number', default: 1, describe: 'targets run at once' })
  .option('budget', { type: 'number', default: 1000, describe: 'milliseconds one input may take before it counts as a hang' })
  .option('replay', { type: 'string', describe: 'run one saved input (with a single --target) and show how it ends' })
  .check((a) => {
    if (!Number.isInteger(a.seed) || a.seed < 0 || a.seed > 0xffffffff) throw new Error('--seed must be an integer from 0 to 4294967295');
    if (a.iterations !== undefined && (!Number.isInteger(a.iterations) || a.iterations < 1 || a.iterations > 0x7fffffff)) {
      throw new Error('--iterations must be a positive integer below 2^31');
    }
    if (!Number.isInteger(a.jobs) || a.jobs < 1) throw new Error('--jobs must be a positive integer');
    const unknown = (a.target ?? []).filter((name) => !TARGETS.some((t) => t.name === name));
    if (unknown.length > 0) throw new Error(`unknown target ${unknown.join(', ')}`);
    if (a.replay !== undefined && a.target?.length !== 1) throw new Error('--replay needs exactly one --target');
    return true;
  })
  .strict()
  .help()
  .parse();

if (argv.replay !== undefined) {
  const { outcome, detail } = await replayInput(argv.target![0], readFileSync(argv.replay));
  console.log(`${argv.target![0]}: ${outcome}: ${detail}`);
  process.exit(outcome === 'finding' ? 1 : 0);
}

const names = argv.target ?? TARGETS.map((t) => t.name);
const iterations = argv.iterations ?? (argv.long ? 1_000_000 : 20_000);
const reports: TargetReport[] = [];
const queue = [...names];

async function lane(): Promise<void> {
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    const r = await fuzzTarget(name, { iterations, seed: argv.seed, budgetMs: argv.budget });
    reports.push(r);
    console.log(summaryLine(r));
    for (const f of r.findings) console.log(findingText(f));
  }
}

await Promise.all(Array.from({ length: Math.min(argv.jobs, names.length) }, lane));
console.log(totalLine(reports));
process.exitCode = reports.some((r) => r.findingCount > 0) ? 1 : 0;
