import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStatTicks, parseStatusField, peakRss, cpuSeconds } from '../../../bench/proc-stats.js';
import { topFrames } from '../../../bench/prof-summary.js';
import {
  evaluateTargets,
  ratio,
  renderMarkdown,
  type ScenarioResult,
  type TargetOutcome,
} from '../../../bench/report.js';
import { formatSize, selectScenarios, SCENARIOS } from '../../../bench/scenarios.js';
import { percentile, runConcurrent } from '../../../bench/stats.js';

describe('bench stats', () => {
  it('percentile is nearest-rank', () => {
    const v = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(percentile(v, 50), 5);
    assert.equal(percentile(v, 99), 10);
    assert.equal(percentile(v, 0), 1);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it('runConcurrent keeps `concurrency` in flight and runs every index once', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    const r = await runConcurrent(40, 4, async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      seen.push(i);
      inFlight--;
    });
    assert.equal(peak, 4);
    assert.equal(r.ops, 40);
    assert.equal(r.latenciesMs.length, 40);
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, i) => i),
    );
  });

  it('runConcurrent throws the first failure and starts nothing after it', async () => {
    let started = 0;
    await assert.rejects(
      runConcurrent(100, 2, async (i) => {
        started++;
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (i === 3) throw new Error('boom 3');
      }),
      /boom 3/,
    );
    assert.ok(started < 10, `started ${started}`);
  });

  it('runConcurrent stops starting operations after the time cap', async () => {
    const r = await runConcurrent(
      1_000_000,
      2,
      () => new Promise<void>((resolve) => setTimeout(resolve, 2)),
      50,
    );
    assert.ok(r.ops > 0 && r.ops < 1000, `ops ${r.ops}`);
  });
});

describe('bench proc-stats', () => {
  it('parses VmHWM and utime+stime (command names with spaces and parentheses)', () => {
    assert.equal(
      parseStatusField('Name:\tnode\nVmHWM:\t  123456 kB\nVmRSS:\t 1000 kB\n', 'VmHWM'),
      123456 * 1024,
    );
    assert.equal(parseStatusField('Name:\tnode\n', 'VmRSS'), null);
    const stat = '4242 (my (odd) proc) S 1 2 3 4 5 6 7 8 9 10 150 25 0 0 20 0 1 0 100 200 300';
    assert.equal(parseStatTicks(stat), 175);
  });

  it('reads this process', () => {
    const rss = peakRss(process.pid);
    const cpu = cpuSeconds(process.pid);
    assert.ok(rss !== null && rss > 1024 * 1024, `peak RSS ${rss}`);
    assert.ok(cpu !== null && cpu >= 0, `cpu ${cpu}`);
  });
});

function ok(value: number, rss = 50 * 1024 * 1024): TargetOutcome {
  return {
    status: 'ok',
    measurement: { value, seconds: 1 },
    peakRssBytes: rss,
    cpuSeconds: 1,
    clientCpuSeconds: 1,
  };
}

function result(
  id: string,
  unit: ScenarioResult['unit'],
  s3local: TargetOutcome,
  limit: TargetOutcome,
): ScenarioResult {
  return { id, group: 'g', title: id, unit, s3local, limit };
}

describe('bench report', () => {
  it('ratio is s3local ÷ limit, null unless both ran', () => {
    assert.equal(ratio(result('x', 'ops/s', ok(50), ok(100))), 0.5);
    assert.equal(ratio(result('x', 's', ok(8), ok(2))), 4);
    const ni: TargetOutcome = {
      status: 'not-implemented',
      peakRssBytes: null,
      cpuSeconds: null,
      clientCpuSeconds: null,
    };
    assert.equal(ratio(result('x', 'MiB/s', ni, ok(100))), null);
  });

  it('evaluateTargets marks each target met, missed or not measured', () => {
    const checks = evaluateTargets([
      result('small-put-c16', 'ops/s', ok(70), ok(100)),
      result('small-get-c16', 'ops/s', ok(40), ok(100)),
      result('put-1g', 'MiB/s', ok(50, 200 * 1024 * 1024), ok(100)),
      result('put-256m-unsigned', 'MiB/s', ok(100), ok(100)),
      result('put-256m-aws-chunked', 'MiB/s', ok(59), ok(100)),
      result('rclone-copy-2000', 's', ok(3), ok(1)),
    ]);
    const status = Object.fromEntries(checks.map((c) => [c.target, c.status]));
    assert.equal(status['4 KiB PUT c=16 ≥ 0.6× limit'], 'met');
    assert.equal(status['4 KiB GET c=16 ≥ 0.5× limit'], 'missed');
    assert.equal(status['1 GiB PUT ≥ 0.5× limit'], 'met');
    assert.equal(status['1 GiB GET ≥ 0.85× limit'], 'not measured');
    assert.equal(status['server peak RSS ≤ 150 MiB in every scenario'], 'missed');
    assert.equal(status['signed aws-chunked ≥ 0.6× UNSIGNED-PAYLOAD (s3local)'], 'missed');
    assert.equal(status['rclone small files ≤ 4× the time of a local copy'], 'met');
  });

  it('renders one table row per scenario, errors on one line', () => {
    const err: TargetOutcome = {
      status: 'error',
      reason: 'bad | thing\nsecond line',
      peakRssBytes: null,
      cpuSeconds: null,
      clientCpuSeconds: null,
    };
    const md = renderMarkdown(
      {
        date: '2026-01-01T00:00:00Z',
        commit: 'abc1234',
        node: 'v20.0.0',
        cpus: 2,
        cpuModel: 'cpu',
        kernel: '6.0',
        mode: 'full',
        only: [],
        cpuProf: false,
        nodeFlags: ['--initial-old-space-size=64'],
        loadBefore: 0.1,
        loadAfter: 0.2,
        peakPerScenario: true,
        durationSeconds: 10,
      },
      [result('a', 'ops/s', ok(1234.5), ok(2000)), result('b', 'MiB/s', err, ok(10))],
      [],
    );
    const rows = md.split('\n').filter((l) => l.startsWith('| a ') || l.startsWith('| b '));
    assert.equal(rows.length, 2);
    assert.match(rows[0] ?? '', /\| 1,235 ops\/s \| 2,000 ops\/s \| 0\.62× \|/);
    assert.match(rows[1] ?? '', /\*\*error\*\*: bad \\\| thing second line/);
    assert.match(
      md,
      /started as `node --initial-old-space-size=64 dist\/src\/cli\/main\.js serve` \(as `npm start`/,
    );
  });
});

describe('bench scenarios and profiles', () => {
  it('formatSize and scenario selection', () => {
    assert.equal(formatSize(1024 ** 3), '1 GiB');
    assert.equal(formatSize(4096), '4 KiB');
    assert.equal(formatSize(5 * 1024 * 1024 + 64 * 1024), '5.06 MiB');
    assert.deepEqual(
      selectScenarios(['put-1g']).map((s) => s.id),
      ['put-1g'],
    );
    assert.equal(selectScenarios([]).length, SCENARIOS.length);
    assert.equal(new Set(SCENARIOS.map((s) => s.id)).size, SCENARIOS.length, 'ids are unique');
  });

  it('topFrames charges sample intervals to frames by self time, idle apart', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        {
          id: 2,
          callFrame: { functionName: 'hash', url: 'file:///work/main/dist/src/x/md5.js', lineNumber: 9 },
        },
        { id: 3, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      ],
      samples: [2, 2, 3, 2],
      timeDeltas: [0, 1000, 1000, 5000, 1000],
    };
    const { frames, busyMs, idleMs } = topFrames(profile);
    assert.equal(frames[0]?.frame, 'hash src/x/md5.js:10');
    assert.equal(frames[0]?.selfMs, 3);
    assert.equal(idleMs, 5);
    assert.equal(busyMs, 3);
  });
});
