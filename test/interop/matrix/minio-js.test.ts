/**
 * Compatibility matrix, MinIO's JavaScript SDK (`minio` on npm): makeBucket, putObject (a Buffer
 * and a stream large enough for multipart), getObject/fGetObject, statObject, listObjects V1 and
 * V2 (recursive and by directory), copyObject, presigned GET and PUT used with fetch,
 * removeObject/removeObjects and removeBucket, against a real `s3local serve` in both modes.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as Minio from 'minio';
import { ALL_SPECS, describeMatrix, matrixSuite } from './harness.js';
import { md5 } from './trees.js';

const VERSION = (() => {
  const pkg = JSON.parse(
    readFileSync(new URL('../../../../node_modules/minio/package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return `minio ${pkg.version}`;
})();

const PART = 5 * 1024 * 1024;
const SETTINGS = [
  'new Minio.Client({',
  "  endPoint: '127.0.0.1',",
  '  port: 10001,',
  '  useSSL: false,',
  "  accessKey: '<ACCESS_KEY_ID>',",
  "  secretKey: '<SECRET_ACCESS_KEY>',",
  "  region: 'us-east-1',",
  '  pathStyle: true,',
  `  partSize: ${PART}, // 5 MiB parts (the default is 64 MiB)`,
  '})',
].join('\n');

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function collect<T>(stream: NodeJS.ReadableStream): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream as AsyncIterable<T>) out.push(item);
  return out;
}

const suite = matrixSuite('minio-js', { timeout: 600_000 }, () => Promise.resolve(VERSION));

for (const { bucketMode, backend } of ALL_SPECS) {
  describeMatrix(suite, { bucketMode, backend }, { title: 'minio-js', homeTag: 'minio' }, (m) => {
    let mc: Minio.Client;
    const bucket = bucketMode === 'advanced' ? 'minio-js-matrix' : 'default';
    const pre = bucketMode === 'advanced' ? '' : 'minio-js/';
    const big = randomBytes(12 * 1024 * 1024 + 5);
    const small = Buffer.from('hello from minio-js ✓\n');
    const cell = (workflow: string) => m.cell(workflow, SETTINGS);

    m.setup(() => {
      mc = new Minio.Client({
        endPoint: '127.0.0.1',
        port: Number(new URL(m.srv.endpoint).port),
        useSSL: false,
        accessKey: m.srv.accessKeyId,
        secretKey: m.srv.secretAccessKey,
        region: 'us-east-1',
        pathStyle: true,
        partSize: PART,
      });
    });

    if (bucketMode === 'advanced') {
      suite.workflow(cell('makeBucket, bucketExists, listBuckets'), async () => {
        await mc.makeBucket(bucket, 'us-east-1');
        assert.equal(await mc.bucketExists(bucket), true);
        assert.equal(await mc.bucketExists('no-such-bucket-here'), false);
        assert.ok((await mc.listBuckets()).some((b) => b.name === bucket));
      });
    }

    suite.workflow(
      cell('putObject (Buffer, multipart stream), fPutObject, getObject, fGetObject, statObject'),
      async () => {
        const put = await mc.putObject(bucket, `${pre}small.txt`, small, small.length, {
          'Content-Type': 'text/plain',
        });
        assert.equal(put.etag, md5(small));
        const mark = await m.srv.mark();
        // A stream above partSize goes through multipart in 5 MiB parts (minio-js cuts parts from
        // the chunks it reads, so the stream comes in 1 MiB chunks, as a file stream would).
        const chunks: Buffer[] = [];
        for (let i = 0; i < big.length; i += 1 << 20) chunks.push(big.subarray(i, i + (1 << 20)));
        const streamed = await mc.putObject(
          bucket,
          `${pre}dir/big file.bin`,
          Readable.from(chunks),
          big.length,
        );
        assert.match(streamed.etag, /-3$/, 'multipart ETag');
        assert.equal((await m.srv.ops(mark)).get('UploadPart'), 3);
        const file = join(m.home, 'big.bin');
        await writeFile(file, big);
        const fput = await mc.fPutObject(bucket, `${pre}dir/fput.bin`, file);
        assert.equal(fput.etag, streamed.etag, 'fPutObject cuts the same parts');
        const body = Buffer.concat(
          await collect<Buffer>(await mc.getObject(bucket, `${pre}dir/big file.bin`)),
        );
        assert.equal(sha256(body), sha256(big));
        const got = join(m.home, 'small.txt');
        await mc.fGetObject(bucket, `${pre}small.txt`, got);
        assert.deepEqual(await readFile(got), small);
        const stat = await mc.statObject(bucket, `${pre}small.txt`);
        assert.equal(stat.size, small.length);
        assert.equal(stat.etag, md5(small));
        assert.equal(stat.metaData['content-type'], 'text/plain');
        const range = Buffer.concat(
          await collect<Buffer>(await mc.getPartialObject(bucket, `${pre}dir/big file.bin`, 10, 100)),
        );
        assert.deepEqual(range, big.subarray(10, 110));
      },
    );

    suite.workflow(cell('listObjects (V1) and listObjectsV2, recursive and by directory'), async () => {
      const v2 = await collect<{ name?: string; prefix?: string; size?: number }>(
        mc.listObjectsV2(bucket, pre, true),
      );
      assert.deepEqual(v2.map((o) => o.name).sort(), [
        `${pre}dir/big file.bin`,
        `${pre}dir/fput.bin`,
        `${pre}small.txt`,
      ]);
      const top = await collect<{ name?: string; prefix?: string }>(mc.listObjectsV2(bucket, pre, false));
      assert.deepEqual(top.map((o) => o.name ?? o.prefix).sort(), [`${pre}dir/`, `${pre}small.txt`]);
      const v1 = await collect<{ name?: string; size?: number }>(mc.listObjects(bucket, pre, true));
      assert.deepEqual(v1.map((o) => [o.name, o.size]).sort(), [
        [`${pre}dir/big file.bin`, big.length],
        [`${pre}dir/fput.bin`, big.length],
        [`${pre}small.txt`, small.length],
      ]);
    });

    suite.workflow(cell('copyObject'), async () => {
      const src = new Minio.CopySourceOptions({ Bucket: bucket, Object: `${pre}small.txt` });
      const dest = new Minio.CopyDestinationOptions({ Bucket: bucket, Object: `${pre}copied ü.txt` });
      await mc.copyObject(src, dest);
      const stat = await mc.statObject(bucket, `${pre}copied ü.txt`);
      assert.equal(stat.etag, md5(small));
    });

    suite.workflow(cell('presignedGetObject and presignedPutObject with fetch'), async () => {
      const getUrl = await mc.presignedGetObject(bucket, `${pre}small.txt`, 300);
      const got = await fetch(getUrl);
      assert.equal(got.status, 200);
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), small);
      const putUrl = await mc.presignedPutObject(bucket, `${pre}presigned put.txt`, 300);
      const body = Buffer.from('uploaded with a presigned PUT\n');
      const put = await fetch(putUrl, { method: 'PUT', body });
      assert.equal(put.status, 200, await put.text());
      const stat = await mc.statObject(bucket, `${pre}presigned put.txt`);
      assert.equal(stat.etag, md5(body));
    });

    suite.workflow(cell('removeObject, removeObjects (and removeBucket in advanced mode)'), async () => {
      await mc.removeObject(bucket, `${pre}small.txt`);
      await assert.rejects(mc.statObject(bucket, `${pre}small.txt`), { code: 'NotFound' });
      const rest = [
        `${pre}dir/big file.bin`,
        `${pre}dir/fput.bin`,
        `${pre}copied ü.txt`,
        `${pre}presigned put.txt`,
      ];
      const errors = await mc.removeObjects(bucket, rest);
      assert.deepEqual(
        errors.filter((e) => e?.Error !== undefined),
        [],
      );
      assert.deepEqual(await collect(mc.listObjectsV2(bucket, pre, true)), []);
      if (bucketMode === 'advanced') {
        await mc.removeBucket(bucket);
        assert.equal(await mc.bucketExists(bucket), false);
      }
    });
  });
}
