/**
 * resolveServerOptions: the CLI-shaped options become the server's configuration, with the same
 * defaults as `s3local serve`; the low-level forms still work (backward compatible).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StorageBackend } from '../../../src/storage/backend.js';
import { SERVE_OPTIONS } from '../../../src/config/options.js';
import { checkingInterval, DEFAULT_LIMITS } from '../../../src/server/limits.js';
import { silentLogger } from '../../../src/server/logger.js';
import { resolveServerOptions } from '../../../src/server/server-options.js';

const backend = { kind: 'fake' } as StorageBackend;

test('defaults match the CLI table', () => {
  const r = resolveServerOptions({ backend, accessKeyId: 'id', secretAccessKey: 'secret' });
  assert.deepEqual(r.auth, {
    credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    region: 'us-east-1',
    allowSigV2: true,
  });
  assert.deepEqual(r.settings, { region: 'us-east-1', allowBucketCreation: false });
  assert.deepEqual(r.domains, ['localhost']);
  assert.equal(r.logger, silentLogger);
  assert.equal(r.tls, undefined);
  assert.equal(r.metricsPublic, false);
  assert.deepEqual(r.limits, DEFAULT_LIMITS);
  const table = Object.fromEntries(SERVE_OPTIONS.map((s) => [s.name, s.default]));
  assert.equal(table.region, r.auth.region);
  assert.equal(table.maxConnections, r.limits.maxConnections);
  assert.equal(table.maxHeaderSize, r.limits.maxHeaderSize);
  assert.equal(table.metricsPublic, r.metricsPublic);
});

test('flat options map to the server configuration', () => {
  const r = resolveServerOptions({
    backend,
    noAuth: true,
    region: 'eu-west-3',
    noSigv2: true,
    allowBucketCreation: true,
    domain: 's3.example.com',
    tlsCert: '/c.pem',
    tlsKey: '/k.pem',
    metricsPublic: true,
    maxConnections: 5,
    headersTimeout: 1000,
    idleTimeout: 0,
    keepAliveTimeout: 2000,
    maxHeaderSize: 4096,
  });
  assert.deepEqual(r.auth, { credentials: null, region: 'eu-west-3', allowSigV2: false });
  assert.deepEqual(r.settings, { region: 'eu-west-3', allowBucketCreation: true });
  assert.deepEqual(r.domains, ['s3.example.com']);
  assert.deepEqual(r.tls, { certFile: '/c.pem', keyFile: '/k.pem' });
  assert.equal(r.metricsPublic, true);
  assert.deepEqual(r.limits, {
    maxConnections: 5,
    headersTimeout: 1000,
    idleTimeout: 0,
    keepAliveTimeout: 2000,
    maxHeaderSize: 4096,
  });
});

test('the low-level forms (auth, settings, domains, logger) take precedence', () => {
  const auth = { credentials: null, region: 'r1', allowSigV2: true };
  const settings = { region: 'r1', allowBucketCreation: true };
  const r = resolveServerOptions({
    backend,
    auth,
    settings,
    domains: ['a', 'b'],
    logger: silentLogger,
    region: 'ignored',
  });
  assert.equal(r.auth, auth);
  assert.equal(r.settings, settings);
  assert.deepEqual(r.domains, ['a', 'b']);
});

test('header checks run often enough for short timeouts, and at most every 30 s', () => {
  assert.equal(checkingInterval(1000), 250);
  assert.equal(checkingInterval(200), 100);
  assert.equal(checkingInterval(60_000), 15_000);
  assert.equal(checkingInterval(600_000), 30_000);
});
