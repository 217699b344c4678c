/**
 * The Prometheus exposition: counters, histogram buckets (cumulative, +Inf = count), per-bucket
 * gauges, label escaping; and the parser the tests scrape with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeLabel, LATENCY_BUCKETS, parseMetrics, ServerMetrics } from '../../../src/server/metrics.js';

const value = (text: string, name: string, labels: Record<string, string> = {}) =>
  parseMetrics(text).find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;

test('counts requests, bytes and latency by operation and status', () => {
  const m = new ServerMetrics();
  m.observe('PutObject', 200, 0.004, 1000, 300);
  m.observe('PutObject', 200, 0.2, 2000, 300);
  m.observe('PutObject', 500, 3, 10, 400);
  m.observe('GetObject', 404, 0.0005, 100, 500);
  m.inFlight = 2;
  m.connections = 3;
  m.connectionsRejected = 1;
  m.timedOut('headers');
  m.clientError('HPE_HEADER_OVERFLOW');
  const text = m.render({ backend: 'local' });
  assert.equal(value(text, 's3local_requests_total', { operation: 'PutObject', status: '200' }), 2);
  assert.equal(value(text, 's3local_requests_total', { operation: 'PutObject', status: '500' }), 1);
  assert.equal(value(text, 's3local_requests_total', { operation: 'GetObject', status: '404' }), 1);
  assert.equal(value(text, 's3local_received_bytes_total', { operation: 'PutObject' }), 3010);
  assert.equal(value(text, 's3local_sent_bytes_total', { operation: 'PutObject' }), 1000);
  const bucket = (le: string) =>
    value(text, 's3local_request_duration_seconds_bucket', { operation: 'PutObject', le });
  assert.equal(bucket('0.001'), 0);
  assert.equal(bucket('0.005'), 1);
  assert.equal(bucket('0.25'), 2);
  assert.equal(bucket('2.5'), 2);
  assert.equal(bucket('5'), 3);
  assert.equal(bucket('+Inf'), 3);
  assert.equal(value(text, 's3local_request_duration_seconds_count', { operation: 'PutObject' }), 3);
  assert.ok(
    Math.abs(value(text, 's3local_request_duration_seconds_sum', { operation: 'PutObject' })! - 3.204) < 1e-9,
  );
  assert.equal(
    parseMetrics(text).filter(
      (s) => s.name === 's3local_request_duration_seconds_bucket' && s.labels.operation === 'GetObject',
    ).length,
    LATENCY_BUCKETS.length + 1,
  );
  assert.equal(value(text, 's3local_requests_in_flight'), 2);
  assert.equal(value(text, 's3local_connections_open'), 3);
  assert.equal(value(text, 's3local_connections_rejected_total'), 1);
  assert.equal(value(text, 's3local_request_timeouts_total', { phase: 'headers' }), 1);
  assert.equal(value(text, 's3local_request_timeouts_total', { phase: 'body' }), 0);
  assert.equal(value(text, 's3local_client_errors_total', { code: 'HPE_HEADER_OVERFLOW' }), 1);
  assert.equal(value(text, 's3local_info', { backend: 'local' }), 1);
  assert.ok(value(text, 'process_resident_memory_bytes')! > 0);
  // Every family is announced with HELP and TYPE before its samples.
  for (const name of new Set(parseMetrics(text).map((s) => s.name.replace(/_(bucket|sum|count)$/, '')))) {
    assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'), name);
  }
});

test('per-bucket figures and open multipart uploads come from the backend stats', () => {
  const m = new ServerMetrics();
  const text = m.render(
    { backend: 'local' },
    {
      buckets: [
        { name: 'default', objects: 3, bytes: 12345 },
        { name: 'x.y-z', objects: 0, bytes: 0 },
      ],
      multipartUploads: 2,
    },
  );
  assert.equal(value(text, 's3local_bucket_objects', { bucket: 'default' }), 3);
  assert.equal(value(text, 's3local_bucket_bytes', { bucket: 'default' }), 12345);
  assert.equal(value(text, 's3local_bucket_objects', { bucket: 'x.y-z' }), 0);
  assert.equal(value(text, 's3local_multipart_uploads_open'), 2);
  const without = m.render({ backend: 'drime' }, { buckets: [] });
  assert.ok(
    !without.includes('s3local_multipart_uploads_open'),
    'absent when the backend does not track them',
  );
  assert.ok(!m.render({ backend: 'x' }).includes('s3local_bucket_objects'));
});

test('label values are escaped and parse back', () => {
  assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const m = new ServerMetrics();
  m.observe('we"ird\\op\nname', 200, 0.1, 1, 1);
  const text = m.render({ backend: 'local' });
  assert.equal(value(text, 's3local_requests_total', { operation: 'we"ird\\op\nname' }), 1);
});

test('the parser refuses malformed lines', () => {
  assert.throws(() => parseMetrics('no_value_here\n'), /malformed/);
  assert.throws(() => parseMetrics('x{a="1",b=2} 3\n'), /malformed/);
  assert.deepEqual(parseMetrics('# HELP x y\nx{a="1"} +Inf\n'), [
    { name: 'x', labels: { a: '1' }, value: Infinity },
  ]);
});
