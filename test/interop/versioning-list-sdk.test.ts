/**
 * AWS SDK v3 (and raw signed requests, where order matters) against a real server:
 * ListObjectVersions — UTF-8 key order, versions newest first with delete markers interleaved,
 * IsLatest, prefix, delimiter and CommonPrefixes, MaxKeys pagination with key-marker and
 * version-id-marker — and ListObjects / ListObjectsV2, which never show a delete-marked key.
 *
 * The SDK splits `<Version>` and `<DeleteMarker>` into two arrays, so the order between them is
 * read from the raw XML (test/helpers/versioning.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startWithClient, type TestServer } from '../helpers/server.js';
import { errorCode, rawRequest } from '../helpers/sign.js';
import {
  describeEntries,
  listAllVersions,
  newBucket,
  rawListVersions,
  utf8Compare,
} from '../helpers/versioning.js';

type Op = { key: string; op: 'put' | 'delete' };

/**
 * Applies `ops` in order and returns, per key, the version ids it produced, newest first, in the
 * describeEntries() form — what ListObjectVersions must list.
 */
async function apply(s3: S3Client, Bucket: string, ops: Op[]): Promise<Map<string, string[]>> {
  const perKey = new Map<string, string[]>();
  for (const { key, op } of ops) {
    const list = perKey.get(key) ?? [];
    if (op === 'put') {
      const out = await s3.send(new PutObjectCommand({ Bucket, Key: key, Body: `${key} #${list.length}` }));
      assert.ok(out.VersionId, `PUT ${key} returned a version id`);
      list.unshift(`V ${key} ${out.VersionId}`);
    } else {
      const out = await s3.send(new DeleteObjectCommand({ Bucket, Key: key }));
      assert.equal(out.DeleteMarker, true);
      assert.ok(out.VersionId, `DELETE ${key} returned the marker's version id`);
      list.unshift(`DM ${key} ${out.VersionId}`);
    }
    perKey.set(key, list);
  }
  return perKey;
}

/**
 * The expected listing of the keys `pick` selects (default: all): keys in UTF-8 byte order, each
 * key's entries newest first, the first one IsLatest.
 */
function expected(perKey: Map<string, string[]>, pick: (key: string) => boolean = () => true): string[] {
  return [...perKey.keys()]
    .filter(pick)
    .sort(utf8Compare)
    .flatMap((k) => perKey.get(k)!.map((e, i) => (i === 0 ? `${e} latest` : e)));
}

/**
 * Walks an SDK listing to its last page (deadline: 100 pages): `list(marker)` fetches the page at
 * `marker` (undefined: the first); `read(page)` checks it and gives its items, whether it is
 * truncated and the marker of the next page. Returns every page's items in order.
 */
async function sdkPages<P, M, T>(
  list: (marker: M | undefined) => Promise<P>,
  read: (page: P) => { items: T[]; truncated: boolean | undefined; next: M | undefined },
): Promise<T[]> {
  const all: T[] = [];
  let marker: M | undefined;
  for (let i = 0; i < 100; i++) {
    const { items, truncated, next } = read(await list(marker));
    all.push(...items);
    if (!truncated) break;
    marker = next;
  }
  return all;
}

// One advanced-mode server for both suites of this file (every test makes its own bucket).
let srv: TestServer;
let s3: S3Client;

before(async () => ({ srv, s3 } = await startWithClient({ advanced: true })));
after(async () => srv.close());

describe('AWS SDK v3: ListObjectVersions', () => {
  it('orders keys in UTF-8 byte order, versions newest first, delete markers interleaved', async () => {
    const Bucket = await newBucket(s3, 'order', { versioning: 'Enabled' });
    // 'ｚ' (U+FF5A, EF BD 9A) sorts before '😀' (U+1F600, F0 9F 98 80) in UTF-8 but after it in
    // UTF-16 code units (FF5A > D83D); S3 lists in UTF-8 binary order
    // (userguide/ListingKeysUsingAPIs.html: "List results are always returned in UTF-8 binary order").
    const ops: Op[] = [
      { key: '😀', op: 'put' },
      { key: 'a', op: 'put' },
      { key: 'ｚ', op: 'put' },
      { key: 'a', op: 'put' },
      { key: 'B', op: 'put' },
      { key: 'a', op: 'delete' },
      { key: 'a/b', op: 'put' },
      { key: 'é', op: 'put' },
      { key: 'a', op: 'put' },
      { key: 'a-b', op: 'put' },
      { key: 'x&y<z>"q\'', op: 'put' },
      { key: '日本', op: 'put' },
      { key: 'z', op: 'put' },
      { key: 'a', op: 'delete' },
      { key: 'z', op: 'delete' },
      { key: '日本', op: 'put' },
    ];
    const perKey = await apply(s3, Bucket, ops);
    const want = expected(perKey);
    const keyOrder = [...new Set(want.map((e) => e.split(' ')[1]))];
    assert.deepEqual(keyOrder, ['B', 'a', 'a-b', 'a/b', 'x&y<z>"q\'', 'z', 'é', '日本', 'ｚ', '😀']);
    const { entries } = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(entries), want);
    // Within a key, LastModified never increases down the list.
    for (let i = 1; i < entries.length; i++) {
      const [a, b] = [entries[i - 1]!, entries[i]!];
      if (a.key === b.key) assert.ok(a.lastModified >= b.lastModified, `${a.key}: newest first`);
    }
    // Delete markers carry no ETag or Size; versions carry both, matching HEAD.
    for (const e of entries) {
      if (e.kind === 'DeleteMarker') {
        assert.equal(e.etag, undefined);
        assert.equal(e.size, undefined);
        continue;
      }
      const head = await s3.send(new HeadObjectCommand({ Bucket, Key: e.key, VersionId: e.versionId }));
      assert.equal(e.etag, head.ETag, `ETag of ${e.key} ${e.versionId}`);
      assert.equal(e.size, head.ContentLength);
    }
    // The SDK sees the same entries split in two arrays, with IsLatest on the same ones.
    const sdk = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    assert.equal(sdk.IsTruncated, false);
    const sdkAll = [
      ...(sdk.Versions ?? []).map((v) => `V ${v.Key} ${v.VersionId}${v.IsLatest ? ' latest' : ''}`),
      ...(sdk.DeleteMarkers ?? []).map((d) => `DM ${d.Key} ${d.VersionId}${d.IsLatest ? ' latest' : ''}`),
    ].sort();
    assert.deepEqual(sdkAll, [...want].sort());
  });

  it('lists objects of an unversioned bucket as null versions', async () => {
    const Bucket = await newBucket(s3, 'plain');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'one', Body: '1' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'two', Body: '22' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'one', Body: '111' }));
    const { entries } = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(entries), ['V one null latest', 'V two null latest']);
    assert.deepEqual(
      entries.map((e) => e.size),
      [3, 2],
    );
  });

  it('prefix, delimiter and CommonPrefixes (delete-marked keys still have versions)', async () => {
    const Bucket = await newBucket(s3, 'prefix', { versioning: 'Enabled' });
    const perKey = await apply(s3, Bucket, [
      { key: 'dir/a', op: 'put' },
      { key: 'dir/b', op: 'put' },
      { key: 'dir/b', op: 'delete' },
      { key: 'dir/sub/c', op: 'put' },
      { key: 'dir/sub/d', op: 'put' },
      { key: 'dir/sub/d', op: 'delete' },
      { key: 'dead/x', op: 'put' },
      { key: 'dead/x', op: 'delete' },
      { key: 'dir', op: 'put' },
      { key: 'other', op: 'put' },
    ]);
    const withPrefix = await listAllVersions(srv.endpoint, Bucket, { prefix: 'dir/' });
    assert.deepEqual(
      describeEntries(withPrefix.entries),
      expected(perKey, (k) => k.startsWith('dir/')),
    );
    assert.deepEqual(withPrefix.commonPrefixes, []);
    const grouped = await listAllVersions(srv.endpoint, Bucket, { prefix: 'dir/', delimiter: '/' });
    assert.deepEqual(
      describeEntries(grouped.entries),
      expected(perKey, (k) => k === 'dir/a' || k === 'dir/b'),
    );
    assert.deepEqual(grouped.commonPrefixes, ['dir/sub/']);
    const top = await listAllVersions(srv.endpoint, Bucket, { delimiter: '/' });
    // `dead/` holds only a delete-marked key: it is still a common prefix of the version listing
    // (its versions exist), while ListObjectsV2 below does not show it.
    assert.deepEqual(top.commonPrefixes, ['dead/', 'dir/']);
    assert.deepEqual(
      describeEntries(top.entries),
      expected(perKey, (k) => k === 'dir' || k === 'other'),
    );
    const sdk = await s3.send(new ListObjectVersionsCommand({ Bucket, Delimiter: '/' }));
    assert.deepEqual(
      sdk.CommonPrefixes?.map((p) => p.Prefix),
      ['dead/', 'dir/'],
    );
    const v2 = await s3.send(new ListObjectsV2Command({ Bucket, Delimiter: '/' }));
    assert.deepEqual(
      v2.CommonPrefixes?.map((p) => p.Prefix),
      ['dir/'],
    );
    assert.deepEqual(
      v2.Contents?.map((o) => o.Key),
      ['dir', 'other'],
    );
    const v2dir = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'dir/', Delimiter: '/' }));
    assert.deepEqual(
      v2dir.Contents?.map((o) => o.Key),
      ['dir/a'],
    );
    assert.deepEqual(
      v2dir.CommonPrefixes?.map((p) => p.Prefix),
      ['dir/sub/'],
    );
  });

  it('MaxKeys pagination with key-marker / version-id-marker lists every version exactly once', async () => {
    const Bucket = await newBucket(s3, 'pages', { versioning: 'Enabled' });
    const perKey = await apply(s3, Bucket, [
      { key: 'k0', op: 'put' },
      { key: 'k0', op: 'put' },
      { key: 'k0', op: 'put' },
      { key: 'k1', op: 'put' },
      { key: 'k1', op: 'delete' },
      { key: 'k2', op: 'put' },
      { key: 'k3', op: 'put' },
      { key: 'k3', op: 'delete' },
      { key: 'k4', op: 'put' },
      { key: 'k4', op: 'put' },
      { key: 'k4', op: 'delete' },
      { key: 'k4', op: 'put' },
      { key: 'k0', op: 'put' },
    ]);
    const want = expected(perKey);
    assert.equal(want.length, 13);
    for (const maxKeys of [1, 2, 3, 4, 5, 12, 13, 14, 1000]) {
      const { entries, pages } = await listAllVersions(srv.endpoint, Bucket, { maxKeys });
      assert.deepEqual(describeEntries(entries), want, `pages of ${maxKeys}: every version once, in order`);
      for (const [i, p] of pages.entries()) {
        if (i < pages.length - 1) {
          assert.equal(p.entries.length, maxKeys, `a truncated page is full (max-keys ${maxKeys})`);
          // API_ListObjectVersions: NextKeyMarker / NextVersionIdMarker are returned when the
          // response is truncated; they are what the next request passes back.
          assert.ok(p.nextKeyMarker);
          assert.ok(p.nextVersionIdMarker, 'NextVersionIdMarker on a truncated page');
        } else {
          assert.equal(p.isTruncated, false);
        }
      }
      assert.equal(pages.length, Math.max(1, Math.ceil(want.length / maxKeys)));
    }
    // The same walk through the SDK (Versions and DeleteMarkers merged per page).
    type Markers = { KeyMarker: string | undefined; VersionIdMarker: string | undefined };
    const seen = await sdkPages(
      (markers: Markers | undefined) =>
        s3.send(new ListObjectVersionsCommand({ Bucket, MaxKeys: 2, ...markers })),
      (page) => {
        const n = (page.Versions?.length ?? 0) + (page.DeleteMarkers?.length ?? 0);
        assert.ok(n <= 2);
        return {
          items: [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map(
            (e) => `${e.Key} ${e.VersionId}`,
          ),
          truncated: page.IsTruncated,
          next: { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker },
        };
      },
    );
    const wantIds = want.map((e) => e.split(' ').slice(1, 3).join(' '));
    assert.equal(seen.length, wantIds.length, 'no version twice');
    assert.deepEqual([...seen].sort(), [...wantIds].sort());
    // A key-marker alone starts after every version of that key.
    const afterK0 = await rawListVersions(srv.endpoint, Bucket, { keyMarker: 'k0' });
    assert.deepEqual(
      describeEntries(afterK0.entries),
      want.filter((e) => !e.includes(' k0 ')),
    );
  });

  it('pagination with a delimiter counts each common prefix once', async () => {
    const Bucket = await newBucket(s3, 'pagesdelim', { versioning: 'Enabled' });
    const perKey = await apply(s3, Bucket, [
      { key: 'd1/a', op: 'put' },
      { key: 'd1/b', op: 'put' },
      { key: 'd1/b', op: 'put' },
      { key: 'd2/x', op: 'put' },
      { key: 'd2/x', op: 'delete' },
      { key: 'e', op: 'put' },
      { key: 'e', op: 'put' },
      { key: 'f/g', op: 'put' },
      { key: 'h', op: 'put' },
    ]);
    const wantEntries = expected(perKey, (k) => !k.includes('/'));
    for (const maxKeys of [1, 2, 3, 100]) {
      const { entries, commonPrefixes, pages } = await listAllVersions(srv.endpoint, Bucket, {
        delimiter: '/',
        maxKeys,
      });
      assert.deepEqual(describeEntries(entries), wantEntries, `max-keys ${maxKeys}`);
      assert.deepEqual(commonPrefixes, ['d1/', 'd2/', 'f/'], `max-keys ${maxKeys}: each prefix once`);
      for (const p of pages) {
        // API_ListObjectVersions: "All of the keys rolled up into a common prefix count as a
        // single return when calculating the number of returns."
        assert.ok(p.entries.length + p.commonPrefixes.length <= maxKeys);
      }
    }
  });

  it('a version-id-marker without a key-marker is 400 InvalidArgument', async () => {
    const Bucket = await newBucket(s3, 'vidmarker', { versioning: 'Enabled' });
    const { VersionId } = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
    // AWS answers InvalidArgument "A version-id marker cannot be specified without a key marker."
    // (observed S3 response quoted in versity/versitygw#2174).
    const res = await rawRequest(srv.endpoint, {
      method: 'GET',
      path: `/${Bucket}?versions&version-id-marker=${encodeURIComponent(VersionId!)}`,
    });
    assert.equal(res.status, 400, res.text);
    assert.equal(errorCode(res.text), 'InvalidArgument');
  });
});

describe('AWS SDK v3: ListObjects / ListObjectsV2 in a versioned bucket', () => {
  it('never show delete-marked keys, in any page size', async () => {
    const Bucket = await newBucket(s3, 'hidden', { versioning: 'Enabled' });
    await apply(s3, Bucket, [
      { key: 'k0', op: 'put' },
      { key: 'k1', op: 'put' },
      { key: 'k1', op: 'put' },
      { key: 'k1', op: 'delete' },
      { key: 'k2', op: 'put' },
      { key: 'k3', op: 'put' },
      { key: 'k3', op: 'delete' },
      { key: 'k4', op: 'put' },
      { key: 'k5', op: 'put' },
      { key: 'k5', op: 'delete' },
      { key: 'k5', op: 'put' },
      { key: 'k6', op: 'delete' },
    ]);
    const visible = ['k0', 'k2', 'k4', 'k5'];
    for (const MaxKeys of [1, 2, 3, 1000]) {
      const v2 = await sdkPages(
        (ContinuationToken: string | undefined) =>
          s3.send(new ListObjectsV2Command({ Bucket, MaxKeys, ContinuationToken })),
        (page) => {
          assert.equal(page.KeyCount, page.Contents?.length ?? 0);
          const items = (page.Contents ?? []).map((o) => o.Key!);
          return { items, truncated: page.IsTruncated, next: page.NextContinuationToken };
        },
      );
      assert.deepEqual(v2, visible, `ListObjectsV2, MaxKeys ${MaxKeys}`);
      const v1 = await sdkPages(
        (Marker: string | undefined) => s3.send(new ListObjectsCommand({ Bucket, MaxKeys, Marker })),
        (page) => {
          const items = (page.Contents ?? []).map((o) => o.Key!);
          return { items, truncated: page.IsTruncated, next: page.NextMarker ?? items[items.length - 1] };
        },
      );
      assert.deepEqual(v1, visible, `ListObjects, MaxKeys ${MaxKeys}`);
    }
    // The listed object is the current version: size and ETag of k5's last PUT.
    const listed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'k5' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k5' }));
    assert.equal(listed.Contents?.[0]?.ETag, head.ETag);
    assert.equal(listed.Contents?.[0]?.Size, head.ContentLength);
  });
});
