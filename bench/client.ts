/**
 * The benchmark's minimal S3 client: node:http with a keep-alive agent, SigV4 header auth from
 * ./sigv4.ts, and streamed bodies in every payload mode the benchmark compares. The same code
 * drives s3local and the limit server, so whatever the client costs is in both figures.
 *
 * Payload modes (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html):
 * - `unsigned`: x-amz-content-sha256: UNSIGNED-PAYLOAD, plain body.
 * - `signed`: x-amz-content-sha256 is the payload's hex SHA-256 (precomputed, see ./payload.ts).
 * - `aws-chunked`: STREAMING-AWS4-HMAC-SHA256-PAYLOAD, `hex;chunk-signature=sig\r\n` chunks
 *   (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html).
 * - `trailer-crc32`, `trailer-crc64nvme`: STREAMING-UNSIGNED-PAYLOAD-TRAILER, unsigned chunks and
 *   an x-amz-checksum-* trailer (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html).
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  payloadCrc32Base64,
  payloadCrc64NvmeBase64,
  payloadSha256Hex,
  payloadSlices,
  sliceSha256Hex,
} from './payload.js';
import {
  chunkSignature,
  encodePath,
  EMPTY_SHA256,
  sha256Hex,
  Signer,
  canonicalQuery,
  toAmzDate,
} from './sigv4.js';

/** How a PUT body is sent and signed. */
export type PayloadMode = 'unsigned' | 'signed' | 'aws-chunked' | 'trailer-crc32' | 'trailer-crc64nvme';

/** Every payload mode, in report order. */
export const PAYLOAD_MODES: readonly PayloadMode[] = [
  'unsigned',
  'signed',
  'aws-chunked',
  'trailer-crc32',
  'trailer-crc64nvme',
];

/**
 * Computes (and caches) the digests a PUT of `size` bytes in `mode` needs, so that a timed PUT
 * spends nothing on them: call it in a scenario's untimed setup.
 */
export async function preparePayload(size: number, mode: PayloadMode): Promise<void> {
  if (mode === 'signed') payloadSha256Hex(size);
  else if (mode === 'trailer-crc32') payloadCrc32Base64(size);
  else if (mode === 'trailer-crc64nvme') await payloadCrc64NvmeBase64(size);
}

/** Where and as whom the client talks. */
export interface BenchClientOptions {
  host: string;
  port: number;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Chunk size of the aws-chunked modes (must divide 1 MiB); default 64 KiB, as in the AWS examples. */
  chunkSize?: number;
}

/** A finished exchange: status, headers, body byte count and (when collected) the body text. */
export interface ClientResponse {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: number;
  text: string;
}

/** A response with an unexpected status; `code` is the S3 error code when the body had one. */
export class UnexpectedStatusError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly code: string | undefined,
    body: string,
  ) {
    super(`${operation}: HTTP ${status}${code ? ` ${code}` : ''}${body ? `: ${body.slice(0, 300)}` : ''}`);
    this.name = 'UnexpectedStatusError';
  }
}

/** One page of ListObjectsV2. */
export interface ListPage {
  keys: string[];
  /** CommonPrefixes (with a delimiter). */
  prefixes: string[];
  isTruncated: boolean;
  nextContinuationToken: string | undefined;
}

type Body =
  | { kind: 'none' }
  | { kind: 'buffer'; data: Buffer; signed: boolean }
  | { kind: 'payload'; size: number; mode: PayloadMode };

interface SendOptions {
  operation: string;
  method: string;
  key: string;
  query?: ReadonlyArray<readonly [string, string]>;
  body?: Body;
  /** Keep the response body text (small bodies only). */
  collect?: boolean;
  expect: readonly number[];
}

const TEXT_LIMIT = 1 << 20;
/** Bodies up to this size are sent with a single write. */
const SMALL_BODY = 256 * 1024;

function decodeXml(s: string): string {
  return s.replace(
    /&(lt|gt|quot|apos|amp|#x([0-9a-fA-F]+)|#(\d+));/g,
    (m, name: string, hex?: string, dec?: string) => {
      if (hex) return String.fromCodePoint(parseInt(hex, 16));
      if (dec) return String.fromCodePoint(parseInt(dec, 10));
      return { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' }[name] ?? m;
    },
  );
}

function xmlValue(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m?.[1] === undefined ? undefined : decodeXml(m[1]);
}

/** Framed length of an aws-chunked body of `size` data bytes in `chunk`-byte chunks. */
export function awsChunkedLength(size: number, chunk: number, signed: boolean, trailerLine: string): number {
  const sig = signed ? ';chunk-signature='.length + 64 : 0;
  let total = 0;
  const full = Math.floor(size / chunk);
  const rest = size % chunk;
  total += full * (chunk.toString(16).length + sig + 2 + chunk + 2);
  if (rest > 0) total += rest.toString(16).length + sig + 2 + rest + 2;
  total += 1 + sig + 2; // final "0[;chunk-signature=...]\r\n"
  total += signed ? 2 : trailerLine.length + 2; // trailer lines, then the closing CRLF
  return total;
}

/** A minimal signed S3 client for the benchmark (path-style, one bucket). */
export class BenchClient {
  private readonly agent: http.Agent;
  private readonly signer: Signer;
  private readonly hostHeader: string;
  private readonly chunkSize: number;
  private dateSecond = -1;
  private dateString = '';

  constructor(private readonly opts: BenchClientOptions) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
    this.signer = new Signer({
      accessKeyId: opts.accessKeyId,
      secretAccessKey: opts.secretAccessKey,
      region: opts.region,
    });
    this.hostHeader = `${opts.host}:${opts.port}`;
    this.chunkSize = opts.chunkSize ?? 64 * 1024;
  }

  /** Closes the kept-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  private amzDate(): string {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.dateSecond) {
      this.dateSecond = second;
      this.dateString = toAmzDate(new Date(second * 1000));
    }
    return this.dateString;
  }

  /** PutObject of `size` payload bytes sent in `mode`; resolves to the ETag. */
  async putObject(key: string, size: number, mode: PayloadMode = 'unsigned'): Promise<string> {
    const res = await this.send({
      operation: `PutObject(${mode})`,
      method: 'PUT',
      key,
      body: { kind: 'payload', size, mode },
      expect: [200],
    });
    return String(res.headers.etag ?? '');
  }

  /** GetObject; resolves to the number of body bytes received (the body is discarded). */
  async getObject(key: string): Promise<number> {
    const res = await this.send({ operation: 'GetObject', method: 'GET', key, expect: [200] });
    const length = Number(res.headers['content-length']);
    if (Number.isFinite(length) && length !== res.bytes) {
      throw new Error(`GetObject: received ${res.bytes} of ${length} bytes`);
    }
    return res.bytes;
  }

  /** HeadObject; resolves to Content-Length. */
  async headObject(key: string): Promise<number> {
    const res = await this.send({ operation: 'HeadObject', method: 'HEAD', key, expect: [200] });
    return Number(res.headers['content-length']);
  }

  /** DeleteObject. */
  async deleteObject(key: string): Promise<void> {
    await this.send({ operation: 'DeleteObject', method: 'DELETE', key, expect: [204, 200] });
  }

  /** One ListObjectsV2 page. */
  async listObjectsV2(opts: {
    prefix?: string;
    maxKeys?: number;
    continuationToken?: string;
    startAfter?: string;
    delimiter?: string;
  }): Promise<ListPage> {
    const query: Array<[string, string]> = [['list-type', '2']];
    if (opts.prefix !== undefined) query.push(['prefix', opts.prefix]);
    if (opts.delimiter !== undefined) query.push(['delimiter', opts.delimiter]);
    if (opts.startAfter !== undefined) query.push(['start-after', opts.startAfter]);
    if (opts.maxKeys !== undefined) query.push(['max-keys', String(opts.maxKeys)]);
    if (opts.continuationToken !== undefined) query.push(['continuation-token', opts.continuationToken]);
    const res = await this.send({
      operation: 'ListObjectsV2',
      method: 'GET',
      key: '',
      query,
      collect: true,
      expect: [200],
    });
    const keys: string[] = [];
    const re = /<Key>([^<]*)<\/Key>/g;
    for (let m = re.exec(res.text); m; m = re.exec(res.text)) keys.push(decodeXml(m[1] ?? ''));
    const prefixes: string[] = [];
    const pre = /<CommonPrefixes><Prefix>([^<]*)<\/Prefix><\/CommonPrefixes>/g;
    for (let m = pre.exec(res.text); m; m = pre.exec(res.text)) prefixes.push(decodeXml(m[1] ?? ''));
    return {
      keys,
      prefixes,
      isTruncated: xmlValue(res.text, 'IsTruncated') === 'true',
      nextContinuationToken: xmlValue(res.text, 'NextContinuationToken'),
    };
  }

  /** CreateMultipartUpload; `null` when the server answers 501 NotImplemented. */
  async createMultipartUpload(key: string): Promise<string | null> {
    const res = await this.send({
      operation: 'CreateMultipartUpload',
      method: 'POST',
      key,
      query: [['uploads', '']],
      collect: true,
      expect: [200, 501],
    });
    if (res.status === 501) return null;
    const id = xmlValue(res.text, 'UploadId');
    if (!id) throw new Error(`CreateMultipartUpload: no UploadId in ${res.text.slice(0, 200)}`);
    return id;
  }

  /** UploadPart of `size` payload bytes; resolves to the part's ETag. */
  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    size: number,
    mode: PayloadMode = 'unsigned',
  ): Promise<string> {
    const res = await this.send({
      operation: 'UploadPart',
      method: 'PUT',
      key,
      query: [
        ['partNumber', String(partNumber)],
        ['uploadId', uploadId],
      ],
      body: { kind: 'payload', size, mode },
      expect: [200],
    });
    return String(res.headers.etag ?? '');
  }

  /** CompleteMultipartUpload with the parts in order. */
  async completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: ReadonlyArray<{ partNumber: number; etag: string }>,
  ): Promise<void> {
    const xml =
      '<CompleteMultipartUpload>' +
      parts
        .map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${p.etag}</ETag></Part>`)
        .join('') +
      '</CompleteMultipartUpload>';
    const res = await this.send({
      operation: 'CompleteMultipartUpload',
      method: 'POST',
      key,
      query: [['uploadId', uploadId]],
      body: { kind: 'buffer', data: Buffer.from(xml), signed: true },
      collect: true,
      expect: [200],
    });
    // S3 may answer 200 with an error document after a long completion.
    if (res.text.includes('<Error>')) throw new Error(`CompleteMultipartUpload: ${res.text.slice(0, 300)}`);
  }

  /** AbortMultipartUpload. */
  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    await this.send({
      operation: 'AbortMultipartUpload',
      method: 'DELETE',
      key,
      query: [['uploadId', uploadId]],
      expect: [204, 200],
    });
  }

  private async send(o: SendOptions): Promise<ClientResponse> {
    const body = o.body ?? { kind: 'none' };
    const amzDate = this.amzDate();
    const headers: Record<string, string> = { host: this.hostHeader, 'x-amz-date': amzDate };
    let payloadHash = EMPTY_SHA256;
    let contentLength = 0;
    let trailer: { name: string; value: string } | undefined;
    if (body.kind === 'buffer') {
      payloadHash = body.signed ? sha256Hex(body.data) : 'UNSIGNED-PAYLOAD';
      contentLength = body.data.length;
    } else if (body.kind === 'payload') {
      switch (body.mode) {
        case 'unsigned':
          payloadHash = 'UNSIGNED-PAYLOAD';
          contentLength = body.size;
          break;
        case 'signed':
          payloadHash = payloadSha256Hex(body.size);
          contentLength = body.size;
          break;
        case 'aws-chunked':
          payloadHash = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
          headers['content-encoding'] = 'aws-chunked';
          headers['x-amz-decoded-content-length'] = String(body.size);
          contentLength = awsChunkedLength(body.size, this.chunkSize, true, '');
          break;
        case 'trailer-crc32':
        case 'trailer-crc64nvme': {
          const crc32 = body.mode === 'trailer-crc32';
          trailer = {
            name: crc32 ? 'x-amz-checksum-crc32' : 'x-amz-checksum-crc64nvme',
            value: crc32 ? payloadCrc32Base64(body.size) : await payloadCrc64NvmeBase64(body.size),
          };
          payloadHash = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
          headers['content-encoding'] = 'aws-chunked';
          headers['x-amz-decoded-content-length'] = String(body.size);
          headers['x-amz-trailer'] = trailer.name;
          contentLength = awsChunkedLength(
            body.size,
            this.chunkSize,
            false,
            `${trailer.name}:${trailer.value}\r\n`,
          );
          break;
        }
      }
    }
    headers['x-amz-content-sha256'] = payloadHash;
    if (o.method === 'PUT' || o.method === 'POST' || contentLength > 0)
      headers['content-length'] = String(contentLength);
    const path = encodePath(this.opts.bucket, o.key);
    const query = o.query ?? [];
    const signed = this.signer.sign({ method: o.method, path, query, headers, payloadHash, amzDate });
    const qs = canonicalQuery(query);

    let frames: Iterable<Buffer | string> | undefined;
    if (body.kind === 'payload') {
      if (body.mode === 'aws-chunked') {
        frames = this.signedChunks(body.size, amzDate, signed.scope, signed.signingKey, signed.signature);
      } else if (trailer) {
        frames = this.unsignedChunks(body.size, `${trailer.name}:${trailer.value}\r\n`);
      } else {
        frames = payloadSlices(body.size);
      }
    }

    return new Promise<ClientResponse>((resolve, reject) => {
      const req = http.request({
        agent: this.agent,
        host: this.opts.host,
        port: this.opts.port,
        method: o.method,
        path: qs ? `${path}?${qs}` : path,
        headers: { ...headers, authorization: signed.authorization },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        let bytes = 0;
        const chunks: Buffer[] = [];
        const keep = o.collect === true || !o.expect.includes(res.statusCode ?? 0);
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (keep && bytes <= TEXT_LIMIT) chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          if (!o.expect.includes(status)) {
            reject(new UnexpectedStatusError(o.operation, status, xmlValue(text, 'Code'), text));
          } else {
            resolve({ status, headers: res.headers, bytes, text });
          }
        });
      });
      if (frames && contentLength <= SMALL_BODY) {
        // Small bodies go out in one write: a stream per request would cost the client more
        // than the server spends on it.
        const parts = [...frames].map((f) => (typeof f === 'string' ? Buffer.from(f, 'latin1') : f));
        req.end(parts.length === 1 ? parts[0] : Buffer.concat(parts));
      } else if (frames) {
        // An early error answer (403, 400...) may break the upload; the response wins then.
        pipeline(Readable.from(frames), req).catch((err: unknown) => {
          setTimeout(() => reject(err instanceof Error ? err : new Error(String(err))), 1000).unref();
        });
      } else if (body.kind === 'buffer') {
        req.end(body.data);
      } else {
        req.end();
      }
    });
  }

  private *signedChunks(
    size: number,
    amzDate: string,
    scope: string,
    key: Buffer,
    seedSignature: string,
  ): Generator<Buffer | string> {
    let previous = seedSignature;
    for (const slice of payloadSlices(size, this.chunkSize)) {
      previous = chunkSignature(key, amzDate, scope, previous, sliceSha256Hex(slice));
      yield `${slice.length.toString(16)};chunk-signature=${previous}\r\n`;
      yield slice;
      yield '\r\n';
    }
    previous = chunkSignature(key, amzDate, scope, previous, EMPTY_SHA256);
    yield `0;chunk-signature=${previous}\r\n\r\n`;
  }

  private *unsignedChunks(size: number, trailerLine: string): Generator<Buffer | string> {
    for (const slice of payloadSlices(size, this.chunkSize)) {
      yield `${slice.length.toString(16)}\r\n`;
      yield slice;
      yield '\r\n';
    }
    yield `0\r\n${trailerLine}\r\n`;
  }
}
