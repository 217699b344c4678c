/**
 * What every handler receives and returns.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ObjectBody } from '../body.js';
import type { StorageBackend } from '../../storage/backend.js';

/** Server settings the protocol layer needs. */
export interface S3Settings {
  region: string;
  /** Advanced mode (`--allow-bucket-creation`): real buckets. Default mode: only `default`. */
  allowBucketCreation: boolean;
}

export interface HandlerContext {
  backend: StorageBackend;
  settings: S3Settings;
  headers: IncomingHttpHeaders;
  /** The verified request body (empty for bodiless requests). */
  body: ObjectBody;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** The authenticated access key id, or null under --no-auth. */
  principal: string | null;
  method: string;
  /** This request's `x-amz-request-id` and `x-amz-id-2`, for an `<Error>` written by a handler. */
  requestId: string;
  hostId: string;
}

/** A handler's answer; the server alone writes it to the socket. */
export interface S3Result {
  status: number;
  headers: Record<string, string>;
  body?: string | Buffer | Readable;
}

/** The one bucket of default mode (pys3local §4). */
export const DEFAULT_BUCKET = 'default';

/** An XML 200 answer. */
export function xmlResult(xml: string, status = 200): S3Result {
  return { status, headers: { 'content-type': 'application/xml' }, body: xml };
}
