/**
 * Server process figures from Linux /proc: peak resident set (VmHWM) and CPU time (utime + stime
 * of all threads). VmHWM is a lifetime peak; writing `5` to /proc/<pid>/clear_refs resets it to
 * the current RSS (Linux >= 4.0, see proc(5)), which gives a peak per scenario.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Parses VmHWM or VmRSS (kB) out of a /proc/<pid>/status text; bytes, or null. */
export function parseStatusField(status: string, field: 'VmHWM' | 'VmRSS'): number | null {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  return m?.[1] === undefined ? null : Number(m[1]) * 1024;
}

/**
 * Parses utime + stime (clock ticks) out of a /proc/<pid>/stat line. The command name (field 2)
 * may hold spaces and parentheses, so fields are counted after its last `)`.
 */
export function parseStatTicks(stat: string): number | null {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
}

/** Peak RSS of `pid` in bytes since start or the last reset; null when unavailable. */
export function peakRss(pid: number): number | null {
  try {
    return parseStatusField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmHWM');
  } catch {
    return null;
  }
}

/** Current RSS of `pid` in bytes; null when unavailable. */
export function currentRss(pid: number): number | null {
  try {
    return parseStatusField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) `pid` has used; null when unavailable. */
export function cpuSeconds(pid: number): number | null {
  try {
    const ticks = parseStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return ticks === null ? null : ticks / ticksPerSecond();
  } catch {
    return null;
  }
}

/** Resets VmHWM of `pid` to its current RSS; false when the kernel refused. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    return false;
  }
  const peak = peakRss(pid);
  const rss = currentRss(pid);
  // Right after a reset the peak equals the RSS (allow for pages touched in between).
  return peak !== null && rss !== null && peak <= rss + 4 * 1024 * 1024;
}
