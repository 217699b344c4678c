import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SERVE_OPTIONS } from '../../../src/config/options.js';

test('docs/configuration.md lists every option of the table with its env vars and config key', () => {
  const doc = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
  for (const spec of SERVE_OPTIONS) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${spec.flag}\``));
    assert.ok(row, `no table row for ${spec.flag}`);
    for (const env of spec.env) assert.ok(row.includes(`\`${env}\``), `${spec.flag}: ${env} missing`);
    if (spec.configKey !== undefined)
      assert.ok(row.includes(`\`${spec.configKey}\``), `${spec.flag}: ${spec.configKey} missing`);
    if (spec.default !== undefined)
      assert.ok(row.includes(`\`${String(spec.default)}\``), `${spec.flag}: default missing`);
  }
});
