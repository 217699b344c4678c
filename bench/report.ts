/**
 * Turns a run's outcomes into the figures people read: a markdown section for bench/RESULTS.md
 * (every figure as s3local / limit / ratio, then issue 9's targets marked met or missed) and JSON
 * lines for tools.
 */
import type { Measurement, Unit } from './scenario-types.js';

/** What one scenario gave on one target. */
export interface TargetOutcome {
  status: 'ok' | 'not-implemented' | 'skipped' | 'error';
  measurement?: Measurement;
  reason?: string;
  /** The server's peak RSS during the scenario (VmHWM), bytes. */
  peakRssBytes: number | null;
  /** Server CPU seconds (user + system) spent in the scenario. */
  cpuSeconds: number | null;
  /** The benchmark client's own CPU seconds in the scenario. */
  clientCpuSeconds: number | null;
}

/** One scenario on both targets. */
export interface ScenarioResult {
  id: string;
  group: string;
  title: string;
  unit: Unit;
  s3local: TargetOutcome;
  limit: TargetOutcome;
}

/** Facts about the run. */
export interface RunInfo {
  date: string;
  commit: string;
  node: string;
  cpus: number;
  cpuModel: string;
  kernel: string;
  mode: 'full' | 'quick' | 'partial';
  only: readonly string[];
  cpuProf: boolean;
  /** Flags of the node running s3local (those of `npm start` unless --node-flags). */
  nodeFlags: readonly string[];
  /** 1-minute load average before and after the run (other work on the machine skews figures). */
  loadBefore: number;
  loadAfter: number;
  /** True when VmHWM could be reset per scenario (else peaks are per server lifetime). */
  peakPerScenario: boolean;
  durationSeconds: number;
}

/** One issue-9 target, evaluated. */
export interface TargetCheck {
  target: string;
  figure: string;
  status: 'met' | 'missed' | 'not measured';
}

const MiB = 1024 * 1024;

/**
 * s3local relative to the limit: for rates s3local ÷ limit (1 = at the limit, higher is better);
 * for wall times (unit `s`) s3local time ÷ limit time (1 = as fast, lower is better).
 */
export function ratio(r: ScenarioResult): number | null {
  const a = r.s3local.measurement?.value;
  const b = r.limit.measurement?.value;
  if (r.s3local.status !== 'ok' || r.limit.status !== 'ok' || a === undefined || b === undefined || b === 0) {
    return null;
  }
  return a / b;
}

function fmtNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function fmtMs(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2);
}

function fmtValue(unit: Unit, o: TargetOutcome): string {
  switch (o.status) {
    case 'ok': {
      const m = o.measurement;
      if (!m) return '–';
      const lat = m.p50Ms !== undefined ? ` (p50 ${fmtMs(m.p50Ms)} / p99 ${fmtMs(m.p99Ms)} ms)` : '';
      return `${fmtNumber(m.value)} ${unit}${lat}`;
    }
    case 'not-implemented':
      return o.reason ?? 'not implemented (501)';
    case 'skipped':
      return `skipped: ${o.reason ?? ''}`;
    case 'error':
      return `**error**: ${(o.reason ?? '').replace(/\s+/g, ' ').replace(/\|/g, '\\|').slice(0, 160)}`;
  }
}

function fmtRatio(r: ScenarioResult): string {
  const x = ratio(r);
  if (x === null) return '–';
  return r.unit === 's' ? `${x.toFixed(2)}× time` : `${x.toFixed(2)}×`;
}

function fmtRss(o: TargetOutcome): string {
  return o.peakRssBytes === null || o.status !== 'ok' || o.measurement?.fromServer === false
    ? '–'
    : `${(o.peakRssBytes / MiB).toFixed(0)}`;
}

function fmtCpu(o: TargetOutcome): string {
  return o.cpuSeconds === null || o.status !== 'ok' || o.measurement?.fromServer === false
    ? '–'
    : o.cpuSeconds.toFixed(2);
}

function fmtClient(o: TargetOutcome): string {
  return o.clientCpuSeconds === null || o.status !== 'ok' ? '–' : o.clientCpuSeconds.toFixed(2);
}

function check(results: readonly ScenarioResult[], id: string, label: string, min: number): TargetCheck {
  const r = results.find((x) => x.id === id);
  const x = r ? ratio(r) : null;
  if (!r || x === null) {
    const why = r ? `${r.s3local.status} / ${r.limit.status}` : 'not run';
    return { target: label, figure: why, status: 'not measured' };
  }
  const a = r.s3local.measurement?.value ?? 0;
  const b = r.limit.measurement?.value ?? 0;
  return {
    target: label,
    figure: `${x.toFixed(2)}× (${fmtNumber(a)} vs ${fmtNumber(b)} ${r.unit})`,
    status: x >= min ? 'met' : 'missed',
  };
}

/** Issue 9's targets, each with its figure from this run. */
export function evaluateTargets(results: readonly ScenarioResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [
    check(results, 'small-put-c16', '4 KiB PUT c=16 ≥ 0.6× limit', 0.6),
    check(results, 'small-get-c16', '4 KiB GET c=16 ≥ 0.5× limit', 0.5),
    check(results, 'put-1g', '1 GiB PUT ≥ 0.5× limit', 0.5),
    check(results, 'get-1g', '1 GiB GET ≥ 0.85× limit', 0.85),
    check(results, 'put-64m-x8-c4', '64 MiB × 4 PUT ≥ 0.6× limit', 0.6),
  ];

  const measured = results.filter((r) => r.s3local.status === 'ok' && r.s3local.peakRssBytes !== null);
  if (measured.length === 0) {
    checks.push({
      target: 'server peak RSS ≤ 150 MiB in every scenario',
      figure: 'not run',
      status: 'not measured',
    });
  } else {
    const worst = measured.reduce((a, b) =>
      (b.s3local.peakRssBytes ?? 0) > (a.s3local.peakRssBytes ?? 0) ? b : a,
    );
    const peak = (worst.s3local.peakRssBytes ?? 0) / MiB;
    checks.push({
      target: 'server peak RSS ≤ 150 MiB in every scenario',
      figure: `${peak.toFixed(0)} MiB max (${worst.id}), ${measured.length} scenarios`,
      status: peak <= 150 ? 'met' : 'missed',
    });
  }

  const chunked = results.find((r) => r.id === 'put-256m-aws-chunked')?.s3local;
  const unsigned = results.find((r) => r.id === 'put-256m-unsigned')?.s3local;
  if (chunked?.status === 'ok' && unsigned?.status === 'ok' && chunked.measurement && unsigned.measurement) {
    const x = chunked.measurement.value / unsigned.measurement.value;
    checks.push({
      target: 'signed aws-chunked ≥ 0.6× UNSIGNED-PAYLOAD (s3local)',
      figure: `${x.toFixed(2)}× (${fmtNumber(chunked.measurement.value)} vs ${fmtNumber(unsigned.measurement.value)} MiB/s)`,
      status: x >= 0.6 ? 'met' : 'missed',
    });
  } else {
    checks.push({
      target: 'signed aws-chunked ≥ 0.6× UNSIGNED-PAYLOAD (s3local)',
      figure: 'not run',
      status: 'not measured',
    });
  }

  // Issue 5: listing cost independent of bucket size.
  const full = results.find((r) => r.id === 'index-list-full')?.s3local;
  const fullValue = full?.status === 'ok' ? full.measurement?.value : undefined;
  checks.push({
    target: 'full ListObjectsV2 of a 1,000,000-object bucket ≥ 100,000 objects/s (s3local)',
    figure: fullValue === undefined ? 'not run' : `${fmtNumber(fullValue)} objects/s`,
    status: fullValue === undefined ? 'not measured' : fullValue >= 100_000 ? 'met' : 'missed',
  });

  // Issue 4: multipart upload of 1 GiB in 8 MiB parts, 4 in flight (the note has the Complete latency).
  const mp = results.find((r) => r.id === 'multipart-1g')?.s3local;
  const mpRss = mp?.status === 'ok' && mp.peakRssBytes !== null ? mp.peakRssBytes / MiB : undefined;
  checks.push({
    target: 'multipart upload: server peak RSS < 200 MiB (s3local)',
    figure:
      mpRss === undefined
        ? 'not run'
        : `${mpRss.toFixed(0)} MiB; ${fmtNumber(mp?.measurement?.value ?? 0)} MiB/s; ${mp?.measurement?.note ?? ''}`,
    status: mpRss === undefined ? 'not measured' : mpRss < 200 ? 'met' : 'missed',
  });

  const rclone = results.find((r) => r.id === 'rclone-copy-2000');
  const rx = rclone ? ratio(rclone) : null;
  if (rclone && rx !== null) {
    checks.push({
      target: 'rclone small files ≤ 4× the time of a local copy',
      figure: `${rx.toFixed(2)}× time (${fmtNumber(rclone.s3local.measurement?.value ?? 0)} s vs ${fmtNumber(rclone.limit.measurement?.value ?? 0)} s)`,
      status: rx <= 4 ? 'met' : 'missed',
    });
  } else {
    const why = rclone ? `${rclone.s3local.reason ?? rclone.s3local.status}` : 'not run';
    checks.push({
      target: 'rclone small files ≤ 4× the time of a local copy',
      figure: why,
      status: 'not measured',
    });
  }
  return checks;
}

/** The markdown section of one run. */
export function renderMarkdown(
  info: RunInfo,
  results: readonly ScenarioResult[],
  targets: readonly TargetCheck[],
  extra = '',
): string {
  const lines: string[] = [];
  const kind = info.mode === 'partial' ? `partial run (--only ${info.only.join(', ')})` : `${info.mode} run`;
  lines.push(`## ${info.date} — ${kind}`);
  lines.push('');
  lines.push(
    `- commit: \`${info.commit}\`; Node ${info.node}; ${info.cpus} CPUs (${info.cpuModel}); Linux ${info.kernel}`,
  );
  lines.push(
    `- server peak RSS: ${info.peakPerScenario ? 'VmHWM reset per scenario (clear_refs)' : 'VmHWM since server start (reset unavailable)'}; ` +
      `servers restarted per scenario group; wall time ${info.durationSeconds.toFixed(0)} s; ` +
      `load average ${info.loadBefore.toFixed(2)} before, ${info.loadAfter.toFixed(2)} after` +
      (info.cpuProf ? '; **--cpu-prof on** (figures slowed by profiling)' : ''),
  );
  lines.push(
    `- s3local started as \`node ${[...info.nodeFlags, 'dist/src/cli/main.js serve'].join(' ')}\`` +
      (info.nodeFlags.length > 0 ? ' (as `npm start` runs it)' : ' (the bare `s3local` executable)'),
  );
  if (info.mode === 'quick') lines.push('- **--quick**: tiny sizes, a smoke run; the figures mean nothing.');
  lines.push('');
  lines.push(
    '| Scenario | s3local | limit | ratio | s3local RSS MiB | s3local CPU s | limit RSS MiB | limit CPU s | client CPU s (s3local / limit) |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    lines.push(
      `| ${r.title} | ${fmtValue(r.unit, r.s3local)} | ${fmtValue(r.unit, r.limit)} | ${fmtRatio(r)} | ` +
        `${fmtRss(r.s3local)} | ${fmtCpu(r.s3local)} | ${fmtRss(r.limit)} | ${fmtCpu(r.limit)} | ` +
        `${fmtClient(r.s3local)} / ${fmtClient(r.limit)} |`,
    );
  }
  lines.push('');
  lines.push('Targets (issue 9):');
  lines.push('');
  lines.push('| Target | Figure | Status |');
  lines.push('|---|---|---|');
  for (const t of targets) {
    const figure = t.figure.replace(/\s+/g, ' ').replace(/\|/g, '\\|').slice(0, 200);
    const status = t.status === 'met' ? '✅ met' : t.status === 'missed' ? '❌ missed' : 'not measured';
    lines.push(`| ${t.target} | ${figure} | ${status} |`);
  }
  const errors = results.flatMap((r) =>
    (['s3local', 'limit'] as const)
      .filter((t) => r[t].status === 'error')
      .map((t) => `- ${r.id} on ${t}: ${(r[t].reason ?? '').replace(/\s+/g, ' ').slice(0, 500)}`),
  );
  if (errors.length > 0) {
    lines.push('');
    lines.push('Errors:');
    lines.push('');
    lines.push(...errors);
  }
  if (extra) {
    lines.push('');
    lines.push(extra.trimEnd());
  }
  lines.push('');
  return lines.join('\n') + '\n';
}

function outcomeJson(o: TargetOutcome): Record<string, unknown> {
  const m = o.measurement;
  return {
    status: o.status,
    ...(o.reason === undefined ? {} : { reason: o.reason.slice(0, 2000) }),
    ...(m
      ? {
          value: m.value,
          seconds: m.seconds,
          ...(m.ops === undefined ? {} : { ops: m.ops }),
          ...(m.bytes === undefined ? {} : { bytes: m.bytes }),
          ...(m.p50Ms === undefined ? {} : { p50Ms: m.p50Ms, p99Ms: m.p99Ms }),
          ...(m.note === undefined ? {} : { note: m.note }),
          fromServer: m.fromServer !== false,
        }
      : {}),
    peakRssMiB: o.peakRssBytes === null ? null : o.peakRssBytes / MiB,
    cpuSeconds: o.cpuSeconds,
    clientCpuSeconds: o.clientCpuSeconds,
  };
}

/** One JSON object per line: a `scenario` line per result, then a `target` line per check. */
export function renderJsonLines(
  info: RunInfo,
  results: readonly ScenarioResult[],
  targets: readonly TargetCheck[],
): string {
  const run = {
    date: info.date,
    commit: info.commit,
    node: info.node,
    nodeFlags: info.nodeFlags,
    cpus: info.cpus,
    mode: info.mode,
  };
  const out: string[] = [];
  for (const r of results) {
    out.push(
      JSON.stringify({
        type: 'scenario',
        ...run,
        scenario: r.id,
        title: r.title,
        unit: r.unit,
        s3local: outcomeJson(r.s3local),
        limit: outcomeJson(r.limit),
        ratio: ratio(r),
      }),
    );
  }
  for (const t of targets) out.push(JSON.stringify({ type: 'target', ...run, ...t }));
  return out.join('\n') + '\n';
}

/** A one-line progress summary of a finished scenario, for the console. */
export function progressLine(r: ScenarioResult): string {
  const v = (o: TargetOutcome) =>
    o.status === 'ok' && o.measurement ? `${fmtNumber(o.measurement.value)} ${r.unit}` : o.status;
  const rss = r.s3local.peakRssBytes === null ? '' : `  rss ${(r.s3local.peakRssBytes / MiB).toFixed(0)} MiB`;
  return `${r.id.padEnd(26)} s3local ${v(r.s3local).padEnd(18)} limit ${v(r.limit).padEnd(18)} ${fmtRatio(r)}${rss}`;
}
