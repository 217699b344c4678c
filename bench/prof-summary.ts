/**
 * Summarises a V8 .cpuprofile (what `node --cpu-prof` writes) as its top frames by self time, for
 * RESULTS.md. Also a CLI: `node dist/bench/prof-summary.js <file.cpuprofile> [top]`.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

/** One frame's share of the profile. */
export interface FrameShare {
  frame: string;
  selfMs: number;
  /** Percent of all sampled time except `(idle)`. */
  percent: number;
}

/** `dist/src/s3/x.js` -> `src/s3/x.js`, `.../node_modules/pkg/y.js` -> `pkg/y.js`, else the file name. */
function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const dist = path.lastIndexOf('/dist/');
  if (dist >= 0) return path.slice(dist + '/dist/'.length);
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) return path.slice(modules + '/node_modules/'.length);
  return basename(path);
}

/** The `top` frames by self time (samples merged by function name, file and line). */
export function topFrames(
  profile: CpuProfile,
  top = 15,
): { frames: FrameShare[]; busyMs: number; idleMs: number } {
  const nameOf = new Map<number, string>();
  for (const n of profile.nodes) {
    const { functionName, url, lineNumber } = n.callFrame;
    const where = url ? ` ${shortUrl(url)}:${lineNumber + 1}` : '';
    nameOf.set(n.id, `${functionName || '(anonymous)'}${where}`);
  }
  const self = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; charge the interval that follows each sample to it.
  for (let i = 0; i < samples.length; i++) {
    const name = nameOf.get(samples[i] ?? -1) ?? '(unknown)';
    const us = deltas[i + 1] ?? 0;
    self.set(name, (self.get(name) ?? 0) + us);
  }
  const idleMs = (self.get('(idle)') ?? 0) / 1000;
  self.delete('(idle)');
  const busyMs = [...self.values()].reduce((a, b) => a + b, 0) / 1000;
  const frames = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, us]) => ({
      frame,
      selfMs: us / 1000,
      percent: busyMs > 0 ? (100 * us) / 1000 / busyMs : 0,
    }));
  return { frames, busyMs, idleMs };
}

/** A markdown table of a profile file's top frames. */
export function summariseProfile(file: string, top = 15): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const { frames, busyMs, idleMs } = topFrames(profile, top);
  const lines = [
    `\`${basename(file)}\`: ${(busyMs / 1000).toFixed(2)} s busy, ${(idleMs / 1000).toFixed(2)} s idle`,
    '',
    '| Self ms | % busy | Frame |',
    '|---:|---:|---|',
    ...frames.map(
      (f) => `| ${f.selfMs.toFixed(0)} | ${f.percent.toFixed(1)} | \`${f.frame.replace(/\|/g, '\\|')}\` |`,
    ),
  ];
  return lines.join('\n') + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: prof-summary.js <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(summariseProfile(file, Number(process.argv[3] ?? 15)));
}
