/**
 * The operations guide, the README and the systemd unit name only options that exist, and the
 * unit file passes `systemd-analyze verify`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVE_OPTIONS } from '../../src/config/options.js';
import { clientTestOptions, runClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FLAGS = new Set(SERVE_OPTIONS.map((s) => s.flag.split(/[ ,]/)[0]!).concat(['--config']));
const VARS = new Set(SERVE_OPTIONS.flatMap((s) => s.env).concat(['S3LOCAL_CONFIG']));

/** Flags given to `s3local serve` on the command lines of `text`. */
function serveFlags(text: string): string[] {
  const flags: string[] = [];
  for (const m of text.matchAll(/s3local serve((?:[^\n]|\\\n)*)/g)) {
    for (const f of m[1]!.matchAll(/(?<=\s)--[a-z0-9-]+/g)) flags.push(f[0]);
  }
  return flags;
}

describe('operations docs and contrib', () => {
  for (const file of ['docs/operations.md', 'README.md', 'contrib/s3local.service']) {
    it(`${file} names only existing serve flags and S3LOCAL_* variables`, async () => {
      const text = await readFile(join(ROOT, file), 'utf8');
      const flags = serveFlags(text);
      assert.ok(flags.length > 0, 'has serve command lines');
      for (const f of flags) assert.ok(FLAGS.has(f), `${file}: unknown flag ${f}`);
      for (const v of text.matchAll(/\bS3LOCAL_[A-Z0-9_]+/g))
        assert.ok(VARS.has(v[0]), `${file}: unknown variable ${v[0]}`);
    });
  }

  it('the systemd unit passes systemd-analyze verify', clientTestOptions('systemd-analyze'), async () => {
    const unit = await readFile(join(ROOT, 'contrib', 's3local.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/s3local serve /m);
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    const dir = await tempDir('s3local-unit-');
    try {
      // The executable is not installed here: point ExecStart at one that is.
      const copy = join(dir, 's3local.service');
      await writeFile(copy, unit.replace('/usr/local/bin/s3local', '/bin/true'));
      const r = await runClient('systemd-analyze', ['verify', copy], process.env, 60_000);
      const problems = (r.out + r.err)
        .split('\n')
        .filter((l) => /Unknown|Invalid|Failed|not executable|bad/i.test(l));
      assert.deepEqual(problems, []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
