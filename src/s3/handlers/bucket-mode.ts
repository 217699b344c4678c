/**
 * The bucket-mode policy (pys3local §4, without its defects). Default mode exposes one bucket,
 * `default`; advanced mode (`--allow-bucket-creation`) exposes real buckets. Both store a bucket
 * as `<data>/<bucket>/`, so switching modes loses nothing.
 */
import { S3Error } from '../errors.js';
import { DEFAULT_BUCKET, type S3Settings } from './types.js';

/** Throws when `bucket` is not reachable in the current mode (also used for copy sources). */
export function assertBucketAllowed(settings: S3Settings, bucket: string): void {
  if (settings.allowBucketCreation || bucket === DEFAULT_BUCKET) return;
  throw new S3Error(
    'NoSuchBucket',
    `The specified bucket does not exist: only the '${DEFAULT_BUCKET}' bucket is served (start s3local with --allow-bucket-creation for more).`,
    { BucketName: bucket },
  );
}

/** CreateBucket in default mode: only `default` exists, and creating others is refused clearly. */
export function assertBucketCreationAllowed(settings: S3Settings, bucket: string): void {
  if (settings.allowBucketCreation || bucket === DEFAULT_BUCKET) return;
  throw new S3Error(
    'AccessDenied',
    `Bucket creation is disabled: this server exposes only the '${DEFAULT_BUCKET}' bucket (start s3local with --allow-bucket-creation to create buckets).`,
    { BucketName: bucket },
  );
}
