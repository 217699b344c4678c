/**
 * AWS SDK v3 against a real server: S3 Object Lock configuration on the local backend — buckets
 * created with object lock, Put/GetObjectLockConfiguration and default retention, lock headers on
 * PUT, Copy and multipart, and the Content-MD5 / x-amz-checksum requirement. What a lock then
 * protects (retention changes, legal holds, deletes) is in object-lock-retention-sdk.test.ts,
 * restart and `cache rebuild` survival in object-lock-persistence.test.ts, the Kopia-shaped flow
 * in object-lock-kopia.test.ts.
 *
 * Pages followed (cited next to the assertions): userguide/object-lock.html ("Locking objects
 * with Object Lock"), userguide/object-lock-configure.html, API_PutObjectLockConfiguration,
 * API_GetObjectLockConfiguration, API_PutObject, API_CopyObject, API_CreateMultipartUpload,
 * ErrorResponses.html.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from '@node-rs/crc32';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startWithClient, type TestServer } from '../helpers/server.js';
import { completeUpload } from '../helpers/multipart.js';
import { errorCode, rawRequest } from '../helpers/sign.js';
import {
  bodyText,
  contentMd5,
  expectError,
  hasIntegrityHeader,
  newBucket,
  recordRequestHeaders,
  setVersioning,
} from '../helpers/versioning.js';
import {
  DAY,
  assertSameInstant,
  fromNow,
  lockBucket,
  putLocked,
  setDefault,
} from '../helpers/object-lock.js';

describe('AWS SDK v3: object lock (advanced mode)', () => {
  let srv: TestServer;
  let s3: S3Client;

  // The SDK's default: a CRC32 checksum on every PUT, which satisfies the object lock integrity
  // requirement (the tests without one use raw requests or WHEN_REQUIRED below).
  before(async () => ({ srv, s3 } = await startWithClient({ advanced: true })));
  after(async () => srv.close());

  it('CreateBucket with object lock enables versioning, which can then never be suspended', async () => {
    const Bucket = await lockBucket(s3, 'create');
    // userguide/object-lock.html: "When you create a bucket with Object Lock enabled, Amazon S3
    // automatically enables versioning for the bucket"; "you can't suspend versioning".
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, 'Enabled');
    const cfg = await s3.send(new GetObjectLockConfigurationCommand({ Bucket }));
    assert.equal(cfg.ObjectLockConfiguration?.ObjectLockEnabled, 'Enabled');
    assert.equal(cfg.ObjectLockConfiguration?.Rule, undefined, 'no default retention until one is set');
    // API_PutBucketVersioning / ErrorResponses: InvalidBucketState (409) "An Object Lock
    // configuration is present on this bucket, so the versioning state cannot be changed."
    await expectError(
      s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Suspended' } })),
      'InvalidBucketState',
      409,
    );
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, 'Enabled');
  });

  it('GetObjectLockConfiguration without object lock is 404 ObjectLockConfigurationNotFoundError', async () => {
    const plain = await newBucket(s3, 'nolock');
    const versioned = await newBucket(s3, 'nolockv', { versioning: 'Enabled' });
    for (const Bucket of [plain, versioned]) {
      // ErrorResponses.html: ObjectLockConfigurationNotFoundError, 404, "Object Lock
      // configuration does not exist for this bucket."
      await expectError(
        s3.send(new GetObjectLockConfigurationCommand({ Bucket })),
        'ObjectLockConfigurationNotFoundError',
        404,
      );
    }
  });

  it('without object lock: a missing key is NoSuchKey and a bad legal-hold body MalformedXML before the lock is judged', async () => {
    const Bucket = await newBucket(s3, 'noorder', { versioning: 'Enabled' });
    for (const send of [
      () => s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'missing' })),
      () => s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'missing' })),
    ]) {
      await expectError(send(), 'NoSuchKey', 404);
    }
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'k' }));
    await expectError(s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'k' })), 'InvalidRequest', 400);
    const body = '<LegalHold><Status>invalid_status</Status></LegalHold>';
    const res = await rawRequest(srv.endpoint, {
      method: 'PUT',
      path: `/${Bucket}/k?legal-hold`,
      headers: { 'content-md5': contentMd5(body) },
      body,
    });
    assert.equal(res.status, 400, res.text);
    assert.equal(errorCode(res.text), 'MalformedXML');
  });

  it('PutObjectLockConfiguration enables object lock on a versioning-enabled bucket only', async () => {
    // API_PutObjectLockConfiguration: object lock can be enabled on an existing bucket, which
    // must have versioning enabled (s3local: 409 InvalidBucketState otherwise).
    const plain = await newBucket(s3, 'enplain');
    const suspended = await newBucket(s3, 'ensusp', { versioning: 'Enabled' });
    await setVersioning(s3, suspended, 'Suspended');
    for (const Bucket of [plain, suspended]) {
      await expectError(
        s3.send(
          new PutObjectLockConfigurationCommand({
            Bucket,
            ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' },
          }),
        ),
        'InvalidBucketState',
        409,
      );
      await expectError(
        s3.send(new GetObjectLockConfigurationCommand({ Bucket })),
        'ObjectLockConfigurationNotFoundError',
        404,
      );
    }
    const Bucket = await newBucket(s3, 'enabled', { versioning: 'Enabled' });
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' },
      }),
    );
    const cfg = await s3.send(new GetObjectLockConfigurationCommand({ Bucket }));
    assert.equal(cfg.ObjectLockConfiguration?.ObjectLockEnabled, 'Enabled');
    const until = fromNow(DAY);
    const vid = await putLocked(s3, Bucket, 'k', 'locked', { mode: 'GOVERNANCE', until });
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k', VersionId: vid }));
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
    await expectError(
      s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Suspended' } })),
      'InvalidBucketState',
      409,
    );
  });

  it('default retention: Days or Years; both is MalformedXML, zero is InvalidArgument', async () => {
    const Bucket = await lockBucket(s3, 'rule');
    await setDefault(s3, Bucket, 'GOVERNANCE', { Days: 2 });
    let cfg = await s3.send(new GetObjectLockConfigurationCommand({ Bucket }));
    assert.deepEqual(cfg.ObjectLockConfiguration?.Rule?.DefaultRetention, { Mode: 'GOVERNANCE', Days: 2 });
    await setDefault(s3, Bucket, 'COMPLIANCE', { Years: 1 });
    cfg = await s3.send(new GetObjectLockConfigurationCommand({ Bucket }));
    assert.deepEqual(cfg.ObjectLockConfiguration?.Rule?.DefaultRetention, { Mode: 'COMPLIANCE', Years: 1 });
    // API_PutObjectLockConfiguration: "The DefaultRetention period can be either Days or Years
    // but you must select one. You cannot specify Days and Years at the same time."
    await expectError(setDefault(s3, Bucket, 'GOVERNANCE', { Days: 1, Years: 1 }), 'MalformedXML', 400);
    // AWS: InvalidArgument "Default retention period must be a positive integer value".
    for (const period of [{ Days: 0 }, { Years: 0 }, { Days: -1 }]) {
      await expectError(setDefault(s3, Bucket, 'GOVERNANCE', period), 'InvalidArgument', 400);
    }
    cfg = await s3.send(new GetObjectLockConfigurationCommand({ Bucket }));
    assert.deepEqual(
      cfg.ObjectLockConfiguration?.Rule?.DefaultRetention,
      { Mode: 'COMPLIANCE', Years: 1 },
      'refused configurations change nothing',
    );
    // Object lock itself cannot be switched off: ObjectLockEnabled has the one value Enabled.
    const res = await rawRequest(srv.endpoint, {
      method: 'PUT',
      path: `/${Bucket}?object-lock`,
      headers: {
        'content-md5': contentMd5(
          '<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>',
        ),
      },
      body: '<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>',
    });
    assert.equal(res.status, 400, res.text);
    assert.equal(errorCode(res.text), 'MalformedXML');
  });

  it('PutObjectLockConfiguration without a body is MissingRequestBodyError; an empty versionId is refused', async () => {
    const Bucket = await lockBucket(s3, 'nobody');
    const res = await rawRequest(srv.endpoint, {
      method: 'PUT',
      path: `/${Bucket}?object-lock`,
      headers: { 'content-md5': contentMd5('') },
      body: '',
    });
    assert.equal(res.status, 400, res.text);
    assert.equal(errorCode(res.text), 'MissingRequestBodyError');
    // As on GET/HEAD: "Version id cannot be the empty string".
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'k' }));
    for (const sub of ['retention', 'legal-hold']) {
      const got = await rawRequest(srv.endpoint, { method: 'GET', path: `/${Bucket}/k?${sub}&versionId=` });
      assert.equal(got.status, 400, got.text);
      assert.match(got.text, /Version id cannot be the empty string/);
    }
  });

  it('objects PUT after a default retention rule carry it; earlier objects do not', async () => {
    const Bucket = await lockBucket(s3, 'dflt');
    const before = await putLocked(s3, Bucket, 'before', 'written before the rule');
    await setDefault(s3, Bucket, 'GOVERNANCE', { Days: 1 });
    const t0 = Date.now();
    const vid = await putLocked(s3, Bucket, 'after', 'written after the rule');
    // userguide/object-lock.html: the default retention period applies to new objects placed in
    // the bucket; the retain-until date is computed from the time the version is created.
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'after', VersionId: vid }));
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
    assertSameInstant(head.ObjectLockRetainUntilDate, new Date(t0 + DAY), 'default retain-until', 60_000);
    const ret = await s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'after', VersionId: vid }));
    assert.equal(ret.Retention?.Mode, 'GOVERNANCE');
    assertSameInstant(ret.Retention?.RetainUntilDate, head.ObjectLockRetainUntilDate!, 'GetObjectRetention');
    const old = await s3.send(new HeadObjectCommand({ Bucket, Key: 'before', VersionId: before }));
    assert.equal(old.ObjectLockMode, undefined, 'a rule does not reach back to existing versions');
    // Explicit headers win over the default.
    const until = fromNow(3 * DAY);
    const explicit = await putLocked(s3, Bucket, 'explicit', 'x', { mode: 'COMPLIANCE', until });
    const eh = await s3.send(new HeadObjectCommand({ Bucket, Key: 'explicit', VersionId: explicit }));
    assert.equal(eh.ObjectLockMode, 'COMPLIANCE');
    assertSameInstant(eh.ObjectLockRetainUntilDate, until, 'explicit retain-until');
    // Years: one year from now (365 or 366 days).
    await setDefault(s3, Bucket, 'COMPLIANCE', { Years: 1 });
    const y = await putLocked(s3, Bucket, 'yearly', 'y');
    const yh = await s3.send(new HeadObjectCommand({ Bucket, Key: 'yearly', VersionId: y }));
    assert.equal(yh.ObjectLockMode, 'COMPLIANCE');
    const span = yh.ObjectLockRetainUntilDate!.getTime() - Date.now();
    assert.ok(span > 364 * DAY && span < 367 * DAY, `a year of retention (${span / DAY} days)`);
  });

  it('PUT with lock headers: mode and date go together; no lock headers on a bucket without object lock', async () => {
    const Bucket = await lockBucket(s3, 'hdrs');
    const until = fromNow(DAY);
    const vid = await putLocked(s3, Bucket, 'k', 'body', { mode: 'GOVERNANCE', until, hold: 'ON' });
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k', VersionId: vid }));
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
    assertSameInstant(head.ObjectLockRetainUntilDate, until, 'retain-until');
    assert.equal(head.ObjectLockLegalHoldStatus, 'ON');
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'k' }));
    assert.equal(got.ObjectLockMode, 'GOVERNANCE', 'GET returns the lock headers too');
    assert.equal(await bodyText(got), 'body');
    // API_PutObject: x-amz-object-lock-mode and x-amz-object-lock-retain-until-date must both be
    // given (AWS: 400 InvalidArgument); an unknown mode and a date in the past are InvalidArgument.
    const bad: Array<Record<string, unknown>> = [
      { ObjectLockMode: 'GOVERNANCE' },
      { ObjectLockRetainUntilDate: until },
      { ObjectLockMode: 'FOREVER', ObjectLockRetainUntilDate: until },
      { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date(Date.now() - DAY) },
      { ObjectLockLegalHoldStatus: 'MAYBE' },
    ];
    for (const lock of bad) {
      await expectError(
        s3.send(new PutObjectCommand({ Bucket, Key: 'bad', Body: 'x', ...lock })),
        'InvalidArgument',
        400,
      );
    }
    // Lock headers on a bucket without object lock (versioned or not): 400 InvalidRequest
    // ("Bucket is missing Object Lock Configuration").
    for (const other of [
      await newBucket(s3, 'hdrplain'),
      await newBucket(s3, 'hdrvers', { versioning: 'Enabled' }),
    ]) {
      for (const lock of [
        { ObjectLockMode: 'GOVERNANCE' as const, ObjectLockRetainUntilDate: until },
        { ObjectLockLegalHoldStatus: 'ON' as const },
      ]) {
        await expectError(
          s3.send(new PutObjectCommand({ Bucket: other, Key: 'k', Body: 'x', ...lock })),
          'InvalidRequest',
          400,
        );
      }
    }
  });

  it('Content-MD5 or an x-amz-checksum header is required for PUTs with object lock parameters', async () => {
    const Bucket = await lockBucket(s3, 'md5');
    const dflt = await lockBucket(s3, 'md5dflt');
    await setDefault(s3, dflt, 'GOVERNANCE', { Days: 1 });
    const until = fromNow(DAY).toISOString();
    const lockHeaders = {
      'x-amz-object-lock-mode': 'GOVERNANCE',
      'x-amz-object-lock-retain-until-date': until,
    };
    const body = 'integrity matters';
    const send = (bucket: string, headers: Record<string, string>) =>
      rawRequest(srv.endpoint, { method: 'PUT', path: `/${bucket}/raw.txt`, headers, body });
    // AWS: 400 InvalidRequest "Content-MD5 OR x-amz-checksum- HTTP header is required for Put
    // Object requests with Object Lock parameters" — for lock headers on the request, and for a
    // bucket with a default retention rule (which puts lock parameters on every PUT).
    for (const [bucket, headers] of [
      [Bucket, lockHeaders],
      [Bucket, { 'x-amz-object-lock-legal-hold': 'ON' }],
      [dflt, {}],
    ] as const) {
      const res = await send(bucket, headers);
      assert.equal(res.status, 400, res.text);
      assert.equal(errorCode(res.text), 'InvalidRequest');
      assert.match(res.text, /Content-MD5/);
    }
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.from(body)) >>> 0);
    for (const integrity of [
      { 'content-md5': contentMd5(body) },
      { 'x-amz-checksum-crc32': crc.toString('base64') },
    ]) {
      for (const [bucket, headers] of [
        [Bucket, lockHeaders],
        [dflt, {}],
      ] as const) {
        const res = await send(bucket, { ...headers, ...integrity });
        assert.equal(res.status, 200, `${JSON.stringify(integrity)}: ${res.text}`);
      }
    }
    // The SDK with requestChecksumCalculation WHEN_REQUIRED sends no checksum on PutObject: the
    // same refusal. (Should an SDK release add one anyway, the PUT must then succeed.)
    const bare = srv.client({ requestChecksumCalculation: 'WHEN_REQUIRED' });
    const seen = recordRequestHeaders(bare);
    const attempt = bare.send(
      new PutObjectCommand({
        Bucket,
        Key: 'sdk.txt',
        Body: body,
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: new Date(until),
      }),
    );
    const result = await attempt.then(
      () => undefined,
      (err: unknown) => err as { name?: string },
    );
    const sent = seen[seen.length - 1]!;
    if (hasIntegrityHeader(sent)) assert.equal(result, undefined, 'the SDK sent a checksum: accepted');
    else assert.equal(result?.name, 'InvalidRequest', 'no checksum from the SDK: refused');
    // With Content-MD5 given explicitly, the same SDK call succeeds.
    await bare.send(
      new PutObjectCommand({
        Bucket,
        Key: 'sdk.txt',
        Body: body,
        ContentMD5: contentMd5(body),
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: new Date(until),
      }),
    );
  });

  it('CopyObject carries lock settings to the new version', async () => {
    const Bucket = await lockBucket(s3, 'copy');
    const src = await newBucket(s3, 'copysrc');
    await s3.send(new PutObjectCommand({ Bucket: src, Key: 'src', Body: 'copied bytes' }));
    const until = fromNow(DAY);
    // API_CopyObject: x-amz-object-lock-mode / -retain-until-date / -legal-hold apply to the
    // destination object.
    const out = await s3.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'dst',
        CopySource: `${src}/src`,
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: until,
        ObjectLockLegalHoldStatus: 'ON',
      }),
    );
    assert.ok(out.VersionId);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'dst', VersionId: out.VersionId }));
    assert.equal(head.ObjectLockMode, 'COMPLIANCE');
    assertSameInstant(head.ObjectLockRetainUntilDate, until, 'copy retain-until');
    assert.equal(head.ObjectLockLegalHoldStatus, 'ON');
    await expectError(
      s3.send(new DeleteObjectCommand({ Bucket, Key: 'dst', VersionId: out.VersionId })),
      'AccessDenied',
      403,
    );
    // A copy into a bucket with a default rule gets the default.
    await setDefault(s3, Bucket, 'GOVERNANCE', { Days: 1 });
    const d = await s3.send(new CopyObjectCommand({ Bucket, Key: 'dflt', CopySource: `${src}/src` }));
    const dh = await s3.send(new HeadObjectCommand({ Bucket, Key: 'dflt', VersionId: d.VersionId }));
    assert.equal(dh.ObjectLockMode, 'GOVERNANCE');
    assert.ok(dh.ObjectLockRetainUntilDate);
    // Lock headers on a copy into a bucket without object lock: InvalidRequest.
    await expectError(
      s3.send(
        new CopyObjectCommand({
          Bucket: src,
          Key: 'dst',
          CopySource: `${src}/src`,
          ObjectLockMode: 'GOVERNANCE',
          ObjectLockRetainUntilDate: until,
        }),
      ),
      'InvalidRequest',
      400,
    );
  });

  it('multipart uploads carry lock settings from CreateMultipartUpload or the default rule', async () => {
    const Bucket = await lockBucket(s3, 'mpu');
    const until = fromNow(DAY);
    const upload = async (Key: string, lock: Record<string, unknown>) => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ...lock }));
      const p1 = await s3.send(
        new UploadPartCommand({
          Bucket,
          Key,
          UploadId,
          PartNumber: 1,
          Body: Buffer.alloc(5 * 1024 * 1024, 1),
        }),
      );
      const p2 = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: 'tail' }));
      const done = await completeUpload(s3, { Bucket, Key, UploadId }, [
        { PartNumber: 1, ETag: p1.ETag! },
        { PartNumber: 2, ETag: p2.ETag! },
      ]);
      assert.ok(done.VersionId, 'Complete returns the version id');
      return done.VersionId;
    };
    // API_CreateMultipartUpload: the object lock headers given at create apply to the object
    // that Complete makes.
    const vid = await upload('locked.bin', {
      ObjectLockMode: 'GOVERNANCE',
      ObjectLockRetainUntilDate: until,
      ObjectLockLegalHoldStatus: 'ON',
    });
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'locked.bin', VersionId: vid }));
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
    assertSameInstant(head.ObjectLockRetainUntilDate, until, 'multipart retain-until');
    assert.equal(head.ObjectLockLegalHoldStatus, 'ON');
    assert.equal(head.ContentLength, 5 * 1024 * 1024 + 4);
    await expectError(
      s3.send(new DeleteObjectCommand({ Bucket, Key: 'locked.bin', VersionId: vid })),
      'AccessDenied',
      403,
    );
    await setDefault(s3, Bucket, 'COMPLIANCE', { Days: 1 });
    const v2 = await upload('default.bin', {});
    const h2 = await s3.send(new HeadObjectCommand({ Bucket, Key: 'default.bin', VersionId: v2 }));
    assert.equal(h2.ObjectLockMode, 'COMPLIANCE');
    assert.ok(h2.ObjectLockRetainUntilDate);
    await expectError(
      s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'bad.bin', ObjectLockMode: 'GOVERNANCE' })),
      'InvalidArgument',
      400,
    );
  });

  it("a multipart upload's default retention counts from Complete, when the object is created", async () => {
    const Bucket = await lockBucket(s3, 'mpu-later');
    const Key = 'slow.bin';
    // Create with a legal hold only; the bucket's default rule is set afterwards.
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket, Key, ObjectLockLegalHoldStatus: 'ON' }),
    );
    await setDefault(s3, Bucket, 'GOVERNANCE', { Days: 1 });
    // Retain-until dates travel with second precision: wait well past one second.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const completing = Date.now();
    const part = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'only' }));
    const done = await completeUpload(s3, { Bucket, Key, UploadId }, [{ PartNumber: 1, ETag: part.ETag! }]);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key, VersionId: done.VersionId }));
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
    assert.equal(head.ObjectLockLegalHoldStatus, 'ON', 'the legal hold of Create is kept');
    const until = head.ObjectLockRetainUntilDate?.getTime() ?? 0;
    assert.ok(
      until >= completing + DAY - 1000 && until <= Date.now() + DAY + 1000,
      `retain-until ${new Date(until).toISOString()} is one day after Complete (${new Date(completing).toISOString()})`,
    );
  });
});
