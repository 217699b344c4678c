/**
 * s3cmd pointed at s3local: the text of an `s3cfg` for path-style requests over plain HTTP.
 */
import { TEST_CREDENTIALS } from './server.js';

/** What an s3cfg needs: the server's `host:port`, keys (default TEST_CREDENTIALS), signing. */
export interface S3cmdTarget {
  host: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Sign with SigV2 instead of SigV4. */
  signatureV2?: boolean;
  /** `key = value` lines after the standard ones (bucket_location, chunk sizes ...). */
  extra?: readonly string[];
}

/** The s3cfg text: no `%(bucket)s` in host_bucket, so every request is path style. */
export function s3cmdConfig(t: S3cmdTarget): string {
  const keys = t.credentials ?? TEST_CREDENTIALS;
  return [
    '[default]',
    `access_key = ${keys.accessKeyId}`,
    `secret_key = ${keys.secretAccessKey}`,
    `host_base = ${t.host}`,
    `host_bucket = ${t.host}`,
    'use_https = False',
    `signature_v2 = ${t.signatureV2 ? 'True' : 'False'}`,
    ...(t.extra ?? []),
    '',
  ].join('\n');
}
