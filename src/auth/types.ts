/**
 * The authentication contract: `authenticate(input, config)` -> principal + verified body.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ObjectBody } from '../s3/body.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface AuthConfig {
  /** The one accepted key pair; null means `--no-auth` (any or no credentials accepted). */
  credentials: Credentials | null;
  /** The region requests must be scoped to (`--region`). */
  region: string;
  /** SigV2 (header and query) accepted; `--no-sigv2` turns it off. */
  allowSigV2: boolean;
  /** Clock, injectable for tests. */
  now?: () => Date;
}

export interface AuthInput {
  method: string;
  /** The request-target exactly as received (raw path, then `?` and the raw query, if any). */
  url: string;
  /** Node's parsed headers (lower-case names). */
  headers: IncomingHttpHeaders;
  /** Node's raw header list [name, value, name, value, ...] (for multi-value headers). */
  rawHeaders: string[];
  /** Bucket named by a virtual-host style Host header, for the SigV2 canonical resource. */
  virtualHostBucket?: string;
  /** The raw request body stream (the IncomingMessage). */
  body: Readable;
}

export interface AuthResult {
  /** The access key id that signed the request; null for an anonymous request under --no-auth. */
  principal: string | null;
  /** The decoded, verified body (see ObjectBody). Empty for requests without a body. */
  body: ObjectBody;
}
