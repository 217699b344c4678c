/**
 * Reads a small request body (an XML document) with a size cap.
 */
import type { Readable } from 'node:stream';
import { S3Error } from '../errors.js';

/** Default cap for XML request bodies: DeleteObjects with 1,000 long keys fits well below it. */
export const MAX_XML_BODY = 2 * 1024 * 1024;

/** Collects `stream` into a Buffer, refusing more than `limit` bytes. */
export async function readSmallBody(stream: Readable, limit = MAX_XML_BODY): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      stream.destroy();
      throw new S3Error('MaxMessageLengthExceeded', 'Your request was too big.');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
