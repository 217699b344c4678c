/**
 * AWS SDK v3 against a real server: what object lock protects — Put/GetObjectRetention (extend
 * only; GOVERNANCE shortened or removed only with x-amz-bypass-governance-retention; COMPLIANCE
 * never), legal holds, and which deletes a lock refuses (by version id) or allows (a simple DELETE
 * only adds a delete marker; an expired retention no longer protects).
 *
 * Pages followed (cited next to the assertions): userguide/object-lock.html (retention modes,
 * retention periods, legal holds), userguide/object-lock-managing.html ("Managing Object Lock"),
 * API_PutObjectRetention, API_GetObjectRetention, API_PutObjectLegalHold, API_DeleteObject,
 * API_DeleteObjects, ErrorResponses.html.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startWithClient, type TestServer } from '../helpers/server.js';
import { bodyText, expectError, newBucket } from '../helpers/versioning.js';
import {
  DAY,
  assertSameInstant,
  fromNow,
  lockBucket,
  putLocked,
  putRetention,
} from '../helpers/object-lock.js';

describe('AWS SDK v3: object lock retention, legal holds and deletes (advanced mode)', () => {
  let srv: TestServer;
  let s3: S3Client;

  // The SDK's default: a CRC32 checksum on every PUT, which satisfies the object lock integrity
  // requirement (the tests without one use raw requests or WHEN_REQUIRED below).
  before(async () => ({ srv, s3 } = await startWithClient({ advanced: true })));
  after(async () => srv.close());

  it('PutObjectRetention: extending is allowed; COMPLIANCE is never shortened, changed or removed', async () => {
    const Bucket = await lockBucket(s3, 'comp');
    const until = fromNow(DAY);
    const vid = await putLocked(s3, Bucket, 'k', 'compliance', { mode: 'COMPLIANCE', until });
    // userguide/object-lock.html, "Retention periods": "You can extend a retention period after
    // you've applied a retention setting to an object version" — by anyone allowed to set one.
    const later = fromNow(2 * DAY);
    await putRetention(s3, Bucket, 'k', vid, { Mode: 'COMPLIANCE', RetainUntilDate: later });
    let ret = await s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'k', VersionId: vid }));
    assert.equal(ret.Retention?.Mode, 'COMPLIANCE');
    assertSameInstant(ret.Retention?.RetainUntilDate, later, 'extended retain-until');
    // "Retention modes": in compliance mode "its retention mode can't be changed, and its
    // retention period can't be shortened" — not even with the governance bypass.
    const refused = [
      { Retention: { Mode: 'COMPLIANCE' as const, RetainUntilDate: until } },
      { Retention: { Mode: 'COMPLIANCE' as const, RetainUntilDate: until }, BypassGovernanceRetention: true },
      { Retention: { Mode: 'GOVERNANCE' as const, RetainUntilDate: later } },
      { Retention: { Mode: 'GOVERNANCE' as const, RetainUntilDate: later }, BypassGovernanceRetention: true },
      { Retention: {}, BypassGovernanceRetention: true },
    ];
    for (const input of refused) {
      await expectError(
        s3.send(new PutObjectRetentionCommand({ Bucket, Key: 'k', VersionId: vid, ...input })),
        'AccessDenied',
        403,
      );
    }
    ret = await s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'k' }));
    assert.equal(ret.Retention?.Mode, 'COMPLIANCE');
    assertSameInstant(ret.Retention?.RetainUntilDate, later, 'unchanged after the refusals');
  });

  it('PutObjectRetention: GOVERNANCE is shortened or removed only with x-amz-bypass-governance-retention', async () => {
    const Bucket = await lockBucket(s3, 'gov');
    const vid = await putLocked(s3, Bucket, 'k', 'governance', {
      mode: 'GOVERNANCE',
      until: fromNow(2 * DAY),
    });
    const shorter = fromNow(DAY);
    // userguide/object-lock.html: in governance mode users can't alter the lock settings unless
    // they have special permissions and send x-amz-bypass-governance-retention: true.
    await expectError(
      putRetention(s3, Bucket, 'k', vid, { Mode: 'GOVERNANCE', RetainUntilDate: shorter }),
      'AccessDenied',
      403,
    );
    await putRetention(s3, Bucket, 'k', vid, { Mode: 'GOVERNANCE', RetainUntilDate: shorter }, true);
    const ret = await s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'k', VersionId: vid }));
    assertSameInstant(ret.Retention?.RetainUntilDate, shorter, 'shortened with the bypass');
    // Extending needs no bypass.
    const longer = fromNow(5 * DAY);
    await putRetention(s3, Bucket, 'k', vid, { Mode: 'GOVERNANCE', RetainUntilDate: longer });
    // Changing the mode alters the lock settings too: GOVERNANCE -> COMPLIANCE needs the bypass
    // (ceph/s3-tests test_object_lock_changing_mode_from_governance_without_bypass).
    await expectError(
      putRetention(s3, Bucket, 'k', vid, { Mode: 'COMPLIANCE', RetainUntilDate: longer }),
      'AccessDenied',
      403,
    );
    assert.equal(
      (await s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'k', VersionId: vid }))).Retention?.Mode,
      'GOVERNANCE',
    );
    // Removing: refused without the bypass, done with it.
    await expectError(putRetention(s3, Bucket, 'k', vid, {}), 'AccessDenied', 403);
    await putRetention(s3, Bucket, 'k', vid, {}, true);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k', VersionId: vid }));
    assert.equal(head.ObjectLockMode, undefined);
    assert.equal(head.ObjectLockRetainUntilDate, undefined);
    // GetObjectRetention of a version without retention: 404 NoSuchObjectLockConfiguration
    // (ErrorResponses.html: "The specified object does not have an Object Lock configuration").
    await expectError(
      s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'k', VersionId: vid })),
      'NoSuchObjectLockConfiguration',
      404,
    );
    // Now the version deletes.
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k', VersionId: vid }));
  });

  it('PutObjectRetention: a past date is InvalidArgument, a bucket without lock InvalidRequest; noncurrent versions work', async () => {
    const Bucket = await lockBucket(s3, 'retargs');
    const v1 = await putLocked(s3, Bucket, 'k', 'one');
    await putLocked(s3, Bucket, 'k', 'two');
    // API_PutObjectRetention: "The retain until date must be in the future".
    await expectError(
      putRetention(s3, Bucket, 'k', v1, {
        Mode: 'GOVERNANCE',
        RetainUntilDate: new Date(Date.now() - 60_000),
      }),
      'InvalidArgument',
      400,
    );
    const until = fromNow(DAY);
    await putRetention(s3, Bucket, 'k', v1, { Mode: 'COMPLIANCE', RetainUntilDate: until });
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k', VersionId: v1 }));
    assert.equal(head.ObjectLockMode, 'COMPLIANCE', 'the noncurrent version is locked');
    const current = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k' }));
    assert.equal(current.ObjectLockMode, undefined, 'the current version is not');
    const plain = await newBucket(s3, 'retplain', { versioning: 'Enabled' });
    await s3.send(new PutObjectCommand({ Bucket: plain, Key: 'k', Body: 'x' }));
    await expectError(
      putRetention(s3, plain, 'k', undefined, { Mode: 'GOVERNANCE', RetainUntilDate: until }),
      'InvalidRequest',
      400,
    );
    await expectError(
      s3.send(new PutObjectLegalHoldCommand({ Bucket: plain, Key: 'k', LegalHold: { Status: 'ON' } })),
      'InvalidRequest',
      400,
    );
  });

  it('DeleteObject of a locked version: 403; governance bypass lets it through; compliance never', async () => {
    const Bucket = await lockBucket(s3, 'del');
    const gov = await putLocked(s3, Bucket, 'gov', 'g', { mode: 'GOVERNANCE', until: fromNow(DAY) });
    const comp = await putLocked(s3, Bucket, 'comp', 'c', { mode: 'COMPLIANCE', until: fromNow(DAY) });
    // userguide/object-lock.html: a locked version cannot be deleted until its retain-until
    // date; governance mode yields to x-amz-bypass-governance-retention, compliance to nobody.
    await expectError(
      s3.send(new DeleteObjectCommand({ Bucket, Key: 'gov', VersionId: gov })),
      'AccessDenied',
      403,
    );
    await expectError(
      s3.send(new DeleteObjectCommand({ Bucket, Key: 'comp', VersionId: comp })),
      'AccessDenied',
      403,
    );
    await expectError(
      s3.send(
        new DeleteObjectCommand({ Bucket, Key: 'comp', VersionId: comp, BypassGovernanceRetention: true }),
      ),
      'AccessDenied',
      403,
    );
    const del = await s3.send(
      new DeleteObjectCommand({ Bucket, Key: 'gov', VersionId: gov, BypassGovernanceRetention: true }),
    );
    assert.equal(del.$metadata.httpStatusCode, 204);
    await expectError(
      s3.send(new GetObjectCommand({ Bucket, Key: 'gov', VersionId: gov })),
      'NoSuchVersion',
      404,
    );
    assert.equal(
      await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key: 'comp', VersionId: comp }))),
      'c',
    );
    // DeleteObjects reports the locked version as a per-key AccessDenied and deletes the rest.
    const free = await putLocked(s3, Bucket, 'free', 'f');
    const multi = await s3.send(
      new DeleteObjectsCommand({
        Bucket,
        Delete: {
          Objects: [
            { Key: 'comp', VersionId: comp },
            { Key: 'free', VersionId: free },
          ],
        },
      }),
    );
    assert.deepEqual(
      (multi.Errors ?? []).map((e) => [e.Key, e.VersionId, e.Code]),
      [['comp', comp, 'AccessDenied']],
    );
    assert.deepEqual(
      (multi.Deleted ?? []).map((d) => [d.Key, d.VersionId]),
      [['free', free]],
    );
  });

  it('a retention that has expired no longer blocks the delete', async () => {
    const Bucket = await lockBucket(s3, 'expire');
    const until = fromNow(3000);
    const vid = await putLocked(s3, Bucket, 'k', 'short-lived', { mode: 'COMPLIANCE', until });
    await expectError(
      s3.send(new DeleteObjectCommand({ Bucket, Key: 'k', VersionId: vid })),
      'AccessDenied',
      403,
    );
    await sleep(Math.max(0, until.getTime() - Date.now()) + 1100);
    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k', VersionId: vid }));
    assert.equal(del.$metadata.httpStatusCode, 204);
  });

  it('DeleteObject without versionId on a locked object only adds a delete marker', async () => {
    const Bucket = await lockBucket(s3, 'marker');
    const vid = await putLocked(s3, Bucket, 'k', 'kept', { mode: 'COMPLIANCE', until: fromNow(DAY) });
    // userguide/object-lock.html: "Object Lock works only in buckets that have S3 Versioning
    // enabled ... a simple DELETE creates a delete marker"; the locked version itself stays.
    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k' }));
    assert.equal(del.DeleteMarker, true);
    await expectError(s3.send(new GetObjectCommand({ Bucket, Key: 'k' })), 'NoSuchKey', 404);
    assert.equal(
      await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key: 'k', VersionId: vid }))),
      'kept',
    );
    // Delete markers carry no lock: removing it brings the locked version back.
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k', VersionId: del.VersionId! }));
    const cur = await s3.send(new GetObjectCommand({ Bucket, Key: 'k' }));
    assert.equal(cur.VersionId, vid);
    assert.equal(await bodyText(cur), 'kept');
    // An overwrite is a new version: the locked one is untouched.
    const v2 = await putLocked(s3, Bucket, 'k', 'newer');
    assert.notEqual(v2, vid);
    assert.equal(
      await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key: 'k', VersionId: vid }))),
      'kept',
    );
  });

  it('a legal hold blocks deleting its version, even with the bypass, until it is OFF', async () => {
    const Bucket = await lockBucket(s3, 'hold');
    const vid = await putLocked(s3, Bucket, 'k', 'held');
    // API_PutObjectLegalHold; userguide/object-lock.html "Legal holds": a legal hold prevents the
    // version from being deleted, has no retention period, and is independent of retention modes
    // (x-amz-bypass-governance-retention does not lift it).
    await s3.send(
      new PutObjectLegalHoldCommand({ Bucket, Key: 'k', VersionId: vid, LegalHold: { Status: 'ON' } }),
    );
    const hold = await s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'k', VersionId: vid }));
    assert.equal(hold.LegalHold?.Status, 'ON');
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k', VersionId: vid }));
    assert.equal(head.ObjectLockLegalHoldStatus, 'ON');
    assert.equal(head.ObjectLockMode, undefined, 'a legal hold is not a retention');
    await expectError(
      s3.send(new DeleteObjectCommand({ Bucket, Key: 'k', VersionId: vid })),
      'AccessDenied',
      403,
    );
    await expectError(
      s3.send(new DeleteObjectCommand({ Bucket, Key: 'k', VersionId: vid, BypassGovernanceRetention: true })),
      'AccessDenied',
      403,
    );
    await s3.send(
      new PutObjectLegalHoldCommand({ Bucket, Key: 'k', VersionId: vid, LegalHold: { Status: 'OFF' } }),
    );
    assert.equal(
      (await s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'k', VersionId: vid }))).LegalHold?.Status,
      'OFF',
    );
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k', VersionId: vid }));
    // The legal hold header on PUT.
    const v2 = await putLocked(s3, Bucket, 'k2', 'held from the start', { hold: 'ON' });
    assert.equal(
      (await s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'k2', VersionId: v2 }))).LegalHold?.Status,
      'ON',
    );
    await expectError(
      s3.send(new DeleteObjectCommand({ Bucket, Key: 'k2', VersionId: v2 })),
      'AccessDenied',
      403,
    );
    // A legal hold on a GOVERNANCE version: the bypass lifts the retention, not the hold.
    const v3 = await putLocked(s3, Bucket, 'k3', 'both', {
      mode: 'GOVERNANCE',
      until: fromNow(DAY),
      hold: 'ON',
    });
    await expectError(
      s3.send(new DeleteObjectCommand({ Bucket, Key: 'k3', VersionId: v3, BypassGovernanceRetention: true })),
      'AccessDenied',
      403,
    );
    await s3.send(
      new PutObjectLegalHoldCommand({ Bucket, Key: 'k3', VersionId: v3, LegalHold: { Status: 'OFF' } }),
    );
    await s3.send(
      new DeleteObjectCommand({ Bucket, Key: 'k3', VersionId: v3, BypassGovernanceRetention: true }),
    );
  });
});
