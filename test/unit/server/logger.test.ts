/**
 * The logger and the access-log line: text for people, JSON lines for machines, levels, and log
 * injection (a key with a newline stays on one line).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { formatAccessText, humanBytes, type AccessEntry } from '../../../src/server/access-log.js';
import { createLogger } from '../../../src/server/logger.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

const entry: AccessEntry = {
  time: '2025-01-31T12:00:00.000Z',
  id: '0123456789ABCDEF',
  remote: '10.0.0.7',
  method: 'PUT',
  operation: 'PutObject',
  bucket: 'default',
  key: 'photos/2024/a.jpg',
  user: 'AKIDEXAMPLE',
  status: 200,
  bytesIn: 1_572_864,
  bytesOut: 312,
  ms: 35,
};

test('humanBytes', () => {
  assert.equal(humanBytes(0), '0B');
  assert.equal(humanBytes(1023), '1023B');
  assert.equal(humanBytes(1536), '1.5KiB');
  assert.equal(humanBytes(1_572_864), '1.5MiB');
  assert.equal(humanBytes(200 * 1024 * 1024), '200MiB');
  assert.equal(humanBytes(3 * 1024 ** 4), '3.0TiB');
});

test('an access line in text: status, operation, target, sizes, duration, client, user, id', () => {
  assert.equal(
    formatAccessText(entry),
    '200 PutObject default/photos/2024/a.jpg in=1.5MiB out=312B 35ms 10.0.0.7 user=AKIDEXAMPLE id=0123456789ABCDEF',
  );
  const failed = formatAccessText({ ...entry, status: 404, error: 'NoSuchKey', user: undefined as never });
  assert.match(failed, /^404 PutObject NoSuchKey default\/photos/);
  const { bucket: _b, key: _k, user: _u, ...bare } = entry;
  assert.equal(formatAccessText({ ...bare, operation: 'ListBuckets' }).split(' ')[2], '-');
  assert.match(formatAccessText({ ...entry, aborted: true, status: 499 }), / aborted id=/);
});

test('keys with spaces, quotes or newlines are quoted: one request, one line', () => {
  const line = formatAccessText({ ...entry, key: 'evil\n2025-01-01 INFO 200 GetObject fake "x"' });
  assert.ok(!line.includes('\n'));
  assert.match(line, /PutObject "default\/evil\\n2025-01-01 INFO 200 GetObject fake \\"x\\"" in=/);
});

test('text and JSON loggers, with levels', () => {
  const text = new Sink();
  const t = createLogger(text, 'info');
  t.debug('hidden');
  t.info('listening', { url: 'http://127.0.0.1:1', tls: false, note: 'two words' });
  t.access?.(entry);
  const lines = text.text.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.match(
    lines[0]!,
    /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}listening url=http:\/\/127\.0\.0\.1:1 tls=false note="two words"$/,
  );
  assert.equal(lines[1], `${entry.time} INFO  ${formatAccessText(entry)}`);

  const json = new Sink();
  const j = createLogger(json, 'warn', 'json');
  j.info('hidden');
  j.access?.(entry);
  j.warn('disk almost full', { free: 10 });
  j.error('boom', { id: 'X' });
  const docs = json.text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(docs.length, 2);
  assert.equal(docs[0]!.level, 'warn');
  assert.equal(docs[0]!.msg, 'disk almost full');
  assert.equal(docs[0]!.free, 10);
  assert.equal(typeof docs[0]!.time, 'string');
  assert.deepEqual(docs[1], { time: docs[1]!.time, level: 'error', msg: 'boom', id: 'X' });

  const all = new Sink();
  createLogger(all, 'debug', 'json').access?.(entry);
  assert.deepEqual(JSON.parse(all.text), { level: 'info', msg: 'request', ...entry });
});
