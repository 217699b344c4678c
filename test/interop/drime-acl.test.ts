/**
 * The ACL operations on the Drime backend (fake Drime API), AWS SDK v3 through the real S3 server:
 * they need only bucket and object existence from the backend, so they answer as on the local
 * backend — the owner's FULL_CONTROL, NoSuchKey / NoSuchVersion for what is not there, `private`
 * accepted, public ACLs 501 NotImplemented.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GetBucketAclCommand,
  GetObjectAclCommand,
  PutBucketAclCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  type GetObjectAclCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startInProcessDrime, type InProcessDrime } from './drime-helpers.js';
import { expectError } from '../helpers/versioning.js';

const T = { timeout: 60_000 };

function assertOwnerOnly(out: Pick<GetObjectAclCommandOutput, 'Owner' | 'Grants'>): void {
  assert.deepEqual(out.Owner, { ID: 's3local', DisplayName: 's3local' });
  assert.deepEqual(out.Grants, [
    {
      Grantee: { Type: 'CanonicalUser', ID: 's3local', DisplayName: 's3local' },
      Permission: 'FULL_CONTROL',
    },
  ]);
}

describe('ACLs on the Drime backend (fake Drime API)', () => {
  let drime: InProcessDrime;
  let s3: S3Client;
  const Bucket = 'default';

  before(async () => {
    drime = await startInProcessDrime('s3local-drime-acl-');
    ({ s3 } = drime);
  });
  after(async () => {
    await drime?.close();
  });

  it('Get*Acl answer the owner with FULL_CONTROL; a missing key is NoSuchKey', T, async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'docs/a.txt', Body: 'a' }));
    assertOwnerOnly(await s3.send(new GetBucketAclCommand({ Bucket })));
    assertOwnerOnly(await s3.send(new GetObjectAclCommand({ Bucket, Key: 'docs/a.txt' })));
    assertOwnerOnly(await s3.send(new GetObjectAclCommand({ Bucket, Key: 'docs/a.txt', VersionId: 'null' })));
    await expectError(
      s3.send(new GetObjectAclCommand({ Bucket, Key: 'docs/missing.txt' })),
      'NoSuchKey',
      404,
    );
    // Drime keeps no S3 versions: only the `null` version exists.
    await expectError(
      s3.send(new GetObjectAclCommand({ Bucket, Key: 'docs/a.txt', VersionId: 'some-version' })),
      'NoSuchVersion',
      404,
    );
    await expectError(s3.send(new GetBucketAclCommand({ Bucket: 'other' })), 'NoSuchBucket', 404);
  });

  it('Put*Acl accept private and answer 501 NotImplemented for a public ACL', T, async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'docs/b.txt', Body: 'b' }));
    await s3.send(new PutObjectAclCommand({ Bucket, Key: 'docs/b.txt', ACL: 'private' }));
    await s3.send(new PutBucketAclCommand({ Bucket, ACL: 'private' }));
    await expectError(
      s3.send(new PutObjectAclCommand({ Bucket, Key: 'docs/b.txt', ACL: 'public-read' })),
      'NotImplemented',
      501,
    );
    await expectError(
      s3.send(
        new PutBucketAclCommand({
          Bucket,
          GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"',
        }),
      ),
      'NotImplemented',
      501,
    );
    await expectError(
      s3.send(new PutObjectAclCommand({ Bucket, Key: 'docs/missing.txt', ACL: 'private' })),
      'NoSuchKey',
      404,
    );
  });
});
