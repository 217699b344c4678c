import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { test } from 'node:test';
import { backendsFile, configDir, credentialsFile, defaultDataDir } from '../../../src/config/paths.js';

test('config dir follows XDG_CONFIG_HOME, else ~/.config', () => {
  assert.equal(configDir({ HOME: '/home/u', XDG_CONFIG_HOME: '/xdg/conf' }), '/xdg/conf/s3local');
  assert.equal(configDir({ HOME: '/home/u' }), '/home/u/.config/s3local');
  // The XDG spec says relative or empty values are ignored.
  assert.equal(configDir({ HOME: '/home/u', XDG_CONFIG_HOME: 'rel/conf' }), '/home/u/.config/s3local');
  assert.equal(configDir({ HOME: '/home/u', XDG_CONFIG_HOME: '' }), '/home/u/.config/s3local');
  assert.equal(configDir({}), `${homedir()}/.config/s3local`);
});

test('backends file: --config > S3LOCAL_CONFIG > <config dir>/backends.toml', () => {
  const env = { HOME: '/home/u', S3LOCAL_CONFIG: '/env/b.toml' };
  assert.equal(backendsFile(env, '/flag/b.toml'), '/flag/b.toml');
  assert.equal(backendsFile(env), '/env/b.toml');
  assert.equal(backendsFile({ HOME: '/home/u' }), '/home/u/.config/s3local/backends.toml');
  assert.equal(backendsFile({ HOME: '/home/u', XDG_CONFIG_HOME: '/x' }), '/x/s3local/backends.toml');
});

test('default data dir is persistent and per user, never /tmp', () => {
  assert.equal(defaultDataDir({ HOME: '/home/u' }), '/home/u/.local/share/s3local');
  assert.equal(defaultDataDir({ HOME: '/home/u', XDG_DATA_HOME: '/data' }), '/data/s3local');
  assert.equal(
    defaultDataDir({ HOME: '/home/u', XDG_DATA_HOME: 'relative' }),
    '/home/u/.local/share/s3local',
  );
});

test('credentials file lives in the config dir', () => {
  assert.equal(credentialsFile({ HOME: '/home/u' }), '/home/u/.config/s3local/credentials.toml');
  assert.equal(credentialsFile({ HOME: '/home/u', XDG_CONFIG_HOME: '/c' }), '/c/s3local/credentials.toml');
});
