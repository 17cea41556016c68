/**
 * Reads the V8 CPU profiles `node --cpu-prof` wrote for the server process
 * and lists the functions with the most self time, so a run with
 * `--cpu-prof DIR` says where the server spends its time.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  function: string;
  /** Source location: file path relative to the repository (or node: / V8 internals) and line. */
  location: string;
  selfMs: number;
  /** Share of the time the process was busy (idle samples left out). */
  selfPct: number;
}

const NOT_WORK = new Set(['(idle)']);

function location(url: string, line: number): string {
  if (!url) return '(native)';
  const short = url.replace(/^file:\/\/.*?\/dist\//, '').replace(/^node:/, 'node:');
  return `${short}:${line + 1}`;
}

/** Self time per function over every .cpuprofile in `dir`, largest first. */
export async function hotSpots(dir: string, top = 20): Promise<HotSpot[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  const self = new Map<string, { fn: string; loc: string; us: number }>();
  let total = 0;
  for (const file of files) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => {
      const node = byId.get(id);
      const dt = profile.timeDeltas[i] ?? 0;
      if (!node) return;
      const fn = node.callFrame.functionName || '(anonymous)';
      if (NOT_WORK.has(fn)) return;
      const loc = location(node.callFrame.url, node.callFrame.lineNumber);
      const key = `${fn}@${loc}`;
      const e = self.get(key) ?? { fn, loc, us: 0 };
      e.us += dt;
      self.set(key, e);
      total += dt;
    });
  }
  return [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({ function: e.fn, location: e.loc, selfMs: e.us / 1000, selfPct: total > 0 ? (100 * e.us) / total : 0 }));
}
