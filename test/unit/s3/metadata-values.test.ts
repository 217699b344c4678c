import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeMetadataValue,
  decodeRfc2047,
  encodeMetadataValue,
  headerText,
} from '../../../src/s3/metadata-values.js';
import { objectResponseHeaders, readMetadata } from '../../../src/s3/headers.js';
import type { S3Error } from '../../../src/s3/errors.js';
import type { ObjectInfo } from '../../../src/storage/backend.js';

/** A value as Node's parser hands it over: its UTF-8 bytes, one latin1 char per byte. */
const wire = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

describe('headerText', () => {
  it('reads UTF-8 bytes as text, other bytes as latin1, ASCII and text unchanged', () => {
    assert.equal(headerText(wire('Hello World\u00e9')), 'Hello World\u00e9');
    assert.equal(headerText(wire('\u65e5\u672c \ud83d\ude00')), '\u65e5\u672c \ud83d\ude00');
    // e9 alone is not UTF-8: the latin1 character (aws-sdk-js over Node sends that).
    assert.equal(headerText('caf\u00e9'), 'caf\u00e9');
    assert.equal(headerText('plain ascii'), 'plain ascii');
    assert.equal(headerText('\u65e5'), '\u65e5');
  });
});

describe('decodeRfc2047', () => {
  it('decodes B and Q encoded-words, any case', () => {
    assert.equal(decodeRfc2047('=?UTF-8?B?SGVsbG8gV29ybGTDqQ==?='), 'Hello World\u00e9');
    assert.equal(decodeRfc2047('=?utf-8?q?caf=C3=A9_au_lait?='), 'caf\u00e9 au lait');
    assert.equal(decodeRfc2047('=?ISO-8859-1?Q?caf=E9?='), 'caf\u00e9');
    assert.equal(decodeRfc2047('=?UTF-8*en?B?w6k=?='), '\u00e9');
  });

  it('drops whitespace between adjacent words and joins a character split across them', () => {
    // "日" is e6 97 a5, split over two words.
    assert.equal(decodeRfc2047('=?UTF-8?Q?=E6=97?= =?UTF-8?Q?=A5?='), '\u65e5');
    assert.equal(decodeRfc2047('a =?UTF-8?B?w6k=?=\t=?UTF-8?B?w6k=?= b'), 'a \u00e9\u00e9 b');
  });

  it('keeps malformed words, unknown charsets and invalid bytes literally', () => {
    for (const v of [
      '=?UTF-8?B?not base64!?=',
      '=?UTF-8?Q?bad=ZZ?=',
      '=?x-no-such-charset?B?w6k=?=',
      '=?UTF-8?B?6Q==?=',
      '=? not a word ?=',
      'a=?b',
    ]) {
      assert.equal(decodeRfc2047(v), v);
    }
  });
});

describe('metadata values in and out', () => {
  it('decodeMetadataValue: bytes, then encoded-words', () => {
    assert.equal(decodeMetadataValue(wire('Hello World\u00e9')), 'Hello World\u00e9');
    assert.equal(decodeMetadataValue('=?UTF-8?B?5pel5pys?='), '\u65e5\u672c');
  });

  it('encodeMetadataValue: printable ASCII unchanged, anything else one UTF-8 B-word', () => {
    assert.equal(encodeMetadataValue('plain\tvalue =?x?='), 'plain\tvalue =?x?=');
    assert.equal(encodeMetadataValue('Hello World\u00e9'), '=?UTF-8?B?SGVsbG8gV29ybGTDqQ==?=');
    assert.equal(encodeMetadataValue('\u65e5\u672c'), '=?UTF-8?B?5pel5pys?=');
    assert.equal(encodeMetadataValue('bell\u0007'), '=?UTF-8?B?YmVsbAc=?=');
    assert.equal(decodeMetadataValue(encodeMetadataValue('\u00e9\ud83d\ude00')), '\u00e9\ud83d\ude00');
  });

  it('readMetadata stores text; objectResponseHeaders sends it RFC 2047-encoded', () => {
    const metadata = readMetadata({
      'x-amz-meta-meta1': wire('Hello World\u00e9'),
      'x-amz-meta-ascii': 'as is',
      'x-amz-meta-q': '=?UTF-8?Q?caf=C3=A9?=',
      'content-type': 'text/plain',
    });
    assert.deepEqual(metadata, { meta1: 'Hello World\u00e9', ascii: 'as is', q: 'caf\u00e9' });
    const info: ObjectInfo = {
      key: 'k',
      size: 0,
      etag: 'd41d8cd98f00b204e9800998ecf8427e',
      lastModified: new Date(0),
      headers: {},
      metadata,
      checksums: {},
      storageClass: 'STANDARD',
    };
    const h = objectResponseHeaders(info, false);
    assert.equal(h['x-amz-meta-meta1'], '=?UTF-8?B?SGVsbG8gV29ybGTDqQ==?=');
    assert.equal(h['x-amz-meta-ascii'], 'as is');
    assert.equal(h['x-amz-meta-q'], '=?UTF-8?B?Y2Fmw6k=?=');
  });

  it('the 2 KB limit counts the UTF-8 bytes of names and decoded values', () => {
    // "meta" (4) + 1022 x "é" (2044) = 2048 bytes: at the limit.
    readMetadata({ 'x-amz-meta-meta': wire('\u00e9'.repeat(1022)) });
    // The same text sent RFC 2047-encoded (far longer on the wire) weighs the same.
    readMetadata({ 'x-amz-meta-meta': encodeMetadataValue('\u00e9'.repeat(1022)) });
    assert.throws(
      () => readMetadata({ 'x-amz-meta-meta': wire('\u00e9'.repeat(1022) + 'x') }),
      (e: S3Error) => e.code === 'MetadataTooLarge' && e.extra.Size === '2049',
    );
  });
});
