/** Request ids in the AWS shape: x-amz-request-id (16 hex upper) and x-amz-id-2 (base64). */
import { randomBytes } from 'node:crypto';

let counter = 0;
const prefix = randomBytes(4).toString('hex').toUpperCase();

/** A unique, cheap request id: a per-process random prefix and a counter. */
export function newRequestId(): string {
  counter = (counter + 1) % 0x100000000;
  return prefix + counter.toString(16).toUpperCase().padStart(8, '0');
}

/** x-amz-id-2: opaque; derived from the request id so a log line links both. */
export function hostIdFor(requestId: string): string {
  return Buffer.from('s3local/' + requestId).toString('base64');
}
