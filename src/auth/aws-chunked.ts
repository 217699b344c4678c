/**
 * The aws-chunked body decoder: a streaming state machine that strips the framing of
 * - signed chunks `hex-size;chunk-signature=sig\r\n<data>\r\n` (STREAMING-AWS4-HMAC-SHA256-PAYLOAD),
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * - the same followed by trailers and `x-amz-trailer-signature` (...-PAYLOAD-TRAILER),
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 * - unsigned chunks `hex-size\r\n<data>\r\n` ... `0\r\n<trailers>\r\n\r\n`
 *   (STREAMING-UNSIGNED-PAYLOAD-TRAILER, or plain `Content-Encoding: aws-chunked`).
 *
 * Data passes through as subarrays of the incoming buffers (never copied); `\n` is found with
 * Buffer.indexOf; only header and trailer lines (bounded, 4 KiB by default) are buffered. Every
 * chunk signature is checked in sequence as its last byte passes; any failure destroys the stream
 * with an S3Error before it can end, so a consumer that commits on a clean end stores nothing.
 */
import { createHash, createHmac, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from '../s3/errors.js';
import { constantTimeEqual, EMPTY_SHA256, sha256Hex } from './crypto.js';
import type { ChunkSigningContext } from './sigv4.js';

export interface AwsChunkedOptions {
  /** Chunk headers carry `;chunk-signature=<64 hex>` (the signed streaming modes). */
  signedChunks: boolean;
  /**
   * What may follow the final zero-size chunk: `none` (only the closing CRLF), `signed`
   * (trailer lines then `x-amz-trailer-signature`), `unsigned` (trailer lines).
   */
  trailer: 'none' | 'signed' | 'unsigned';
  /** Verify chunk and trailer signatures with this context; null parses the framing only (--no-auth). */
  signing: ChunkSigningContext | null;
  /** `x-amz-decoded-content-length`, when sent: the decoded size must equal it. */
  decodedLength?: number | undefined;
  /** Trailer names announced in `x-amz-trailer` (lower-case); no other trailer is accepted. */
  declaredTrailers?: readonly string[];
  /** Hex SHA-256 the framed (wire) body must have, when x-amz-content-sha256 was a plain hash. */
  wireSha256?: string | undefined;
  /** Longest accepted chunk-header or trailer line, in bytes (default 4096). */
  maxLineLength?: number;
}

const enum State {
  Header,
  Data,
  DataCrlf,
  Trailer,
  Done,
}

const MAX_TRAILERS = 16;
const CHUNK_HEADER = /^([0-9a-fA-F]{1,16})(?:;(.*))?$/;
const CHUNK_SIGNATURE = /^chunk-signature=([0-9a-fA-F]{64})$/;

function malformed(reason: string): S3Error {
  return new S3Error('InvalidRequest', `The aws-chunked request body is malformed: ${reason}.`);
}

function incomplete(reason: string): S3Error {
  return new S3Error('IncompleteBody', `You did not send the complete aws-chunked body: ${reason}.`);
}

/** HMAC of a chunk string to sign, hex. */
function sign(key: Buffer, stringToSign: string): string {
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/** String to sign of one chunk (AWS4-HMAC-SHA256-PAYLOAD). */
export function chunkStringToSign(ctx: ChunkSigningContext, previous: string, chunkSha256: string): string {
  return `AWS4-HMAC-SHA256-PAYLOAD\n${ctx.amzDate}\n${ctx.scope}\n${previous}\n${EMPTY_SHA256}\n${chunkSha256}`;
}

/**
 * String to sign of the trailer section (AWS4-HMAC-SHA256-TRAILER): the hash covers each trailer
 * as `name:value\n`, as the AWS SDKs and CRT canonicalise them.
 */
export function trailerStringToSign(
  ctx: ChunkSigningContext,
  previous: string,
  trailers: ReadonlyArray<readonly [string, string]>,
): string {
  const canonical = trailers.map(([name, value]) => `${name}:${value}\n`).join('');
  return `AWS4-HMAC-SHA256-TRAILER\n${ctx.amzDate}\n${ctx.scope}\n${previous}\n${sha256Hex(canonical)}`;
}

/** Signs one chunk: exported for tests and client-side helpers. */
export function chunkSignature(ctx: ChunkSigningContext, previous: string, data: Uint8Array): string {
  return sign(ctx.key, chunkStringToSign(ctx, previous, sha256Hex(data)));
}

/** Signs a trailer section: exported for tests and client-side helpers. */
export function trailerSignature(
  ctx: ChunkSigningContext,
  previous: string,
  trailers: ReadonlyArray<readonly [string, string]>,
): string {
  return sign(ctx.key, trailerStringToSign(ctx, previous, trailers));
}

/** Decodes an aws-chunked body (see the file comment). Read the decoded trailers after 'end'. */
export class AwsChunkedDecoder extends Transform {
  private readonly opts: AwsChunkedOptions;
  private readonly maxLine: number;
  private state = State.Header;
  private line: Buffer[] = [];
  private lineLength = 0;
  private remaining = 0;
  private crlfSeen = 0;
  private decoded = 0;
  private chunkHash: Hash | null = null;
  private chunkSig = '';
  private previousSig: string;
  private readonly trailerList: [string, string][] = [];
  private trailerSig: string | undefined;
  private readonly wireHash: Hash | null;

  constructor(opts: AwsChunkedOptions) {
    super();
    this.opts = opts;
    this.maxLine = opts.maxLineLength ?? 4096;
    this.previousSig = opts.signing?.seedSignature ?? '';
    this.wireHash = opts.wireSha256 !== undefined ? createHash('sha256') : null;
  }

  /** Trailers received (lower-case name -> value), in order; complete once the stream has ended. */
  get trailers(): ReadonlyMap<string, string> {
    return new Map(this.trailerList);
  }

  /** Decoded bytes so far. */
  get decodedBytes(): number {
    return this.decoded;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      this.wireHash?.update(chunk);
      this.consume(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.state === State.Trailer && this.lineLength === 0) {
        // Tolerate a body that stops after complete trailer lines without the closing blank line.
        this.finishTrailers();
      }
      if (this.state !== State.Done) throw incomplete('the body ended before the final chunk');
      const wire = this.wireHash?.digest('hex');
      if (wire !== undefined && wire !== this.opts.wireSha256) {
        throw new S3Error('XAmzContentSHA256Mismatch', undefined, {
          ClientComputedContentSHA256: this.opts.wireSha256 ?? '',
          S3ComputedContentSHA256: wire,
        });
      }
      if (this.opts.decodedLength !== undefined && this.decoded !== this.opts.decodedLength) {
        throw incomplete(
          `decoded ${this.decoded} bytes but x-amz-decoded-content-length is ${this.opts.decodedLength}`,
        );
      }
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  private consume(buf: Buffer): void {
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      switch (this.state) {
        case State.Header: {
          const line = this.readLine(buf, pos);
          if (line === undefined) return;
          pos = line.next;
          this.onHeaderLine(line.text);
          break;
        }
        case State.Data: {
          const take = Math.min(this.remaining, len - pos);
          const piece = buf.subarray(pos, pos + take);
          pos += take;
          this.remaining -= take;
          this.chunkHash?.update(piece);
          this.push(piece);
          if (this.remaining === 0) {
            this.verifyChunk(this.chunkHash ? this.chunkHash.digest('hex') : EMPTY_SHA256);
            this.chunkHash = null;
            this.state = State.DataCrlf;
            this.crlfSeen = 0;
          }
          break;
        }
        case State.DataCrlf: {
          const expected = this.crlfSeen === 0 ? 0x0d : 0x0a;
          if (buf[pos] !== expected) throw malformed('chunk data is not followed by CRLF');
          pos++;
          if (++this.crlfSeen === 2) this.state = State.Header;
          break;
        }
        case State.Trailer: {
          const line = this.readLine(buf, pos);
          if (line === undefined) return;
          pos = line.next;
          this.onTrailerLine(line.text);
          break;
        }
        case State.Done:
          throw malformed('data follows the final chunk');
      }
    }
  }

  /** Reads up to and including the next LF; returns the line without CR/LF, or undefined if incomplete. */
  private readLine(buf: Buffer, pos: number): { text: string; next: number } | undefined {
    const lf = buf.indexOf(0x0a, pos);
    const end = lf < 0 ? buf.length : lf;
    if (this.lineLength + (end - pos) > this.maxLine)
      throw malformed('a chunk header or trailer line is too long');
    if (lf < 0) {
      this.line.push(buf.subarray(pos));
      this.lineLength += buf.length - pos;
      return undefined;
    }
    let bytes = buf.subarray(pos, lf);
    if (this.line.length > 0) {
      this.line.push(bytes);
      bytes = Buffer.concat(this.line, this.lineLength + (lf - pos));
      this.line = [];
    }
    this.lineLength = 0;
    let text = bytes.toString('latin1');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    return { text, next: lf + 1 };
  }

  private onHeaderLine(text: string): void {
    const m = CHUNK_HEADER.exec(text);
    if (!m) throw malformed('invalid chunk header');
    const size = parseInt(m[1]!, 16);
    if (!Number.isSafeInteger(size)) throw malformed('invalid chunk size');
    if (this.opts.signedChunks) {
      const sig = CHUNK_SIGNATURE.exec(m[2] ?? '');
      if (!sig) throw malformed('missing chunk-signature');
      this.chunkSig = sig[1]!.toLowerCase();
    }
    if (this.opts.decodedLength !== undefined && this.decoded + size > this.opts.decodedLength) {
      throw incomplete(
        `the chunks carry more than x-amz-decoded-content-length (${this.opts.decodedLength}) bytes`,
      );
    }
    this.decoded += size;
    if (size > 0) {
      this.remaining = size;
      this.chunkHash = this.opts.signedChunks && this.opts.signing ? createHash('sha256') : null;
      this.state = State.Data;
      return;
    }
    // The final, empty chunk: its signature covers the empty string.
    this.verifyChunk(EMPTY_SHA256);
    this.state = State.Trailer;
  }

  private verifyChunk(chunkSha256: string): void {
    const ctx = this.opts.signing;
    if (!this.opts.signedChunks || !ctx) return;
    const stringToSign = chunkStringToSign(ctx, this.previousSig, chunkSha256);
    const expected = sign(ctx.key, stringToSign);
    if (!constantTimeEqual(expected, this.chunkSig)) {
      throw new S3Error('SignatureDoesNotMatch', undefined, {
        StringToSign: stringToSign,
        SignatureProvided: this.chunkSig,
      });
    }
    this.previousSig = this.chunkSig;
  }

  private onTrailerLine(text: string): void {
    if (text === '') {
      this.finishTrailers();
      return;
    }
    if (this.opts.trailer === 'none') throw malformed('unexpected data after the final chunk');
    const colon = text.indexOf(':');
    if (colon <= 0) throw malformed('invalid trailer line');
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      if (this.opts.trailer !== 'signed' || this.trailerSig !== undefined) {
        throw malformed('unexpected x-amz-trailer-signature');
      }
      if (!/^[0-9a-fA-F]{64}$/.test(value)) throw malformed('invalid x-amz-trailer-signature');
      this.trailerSig = value.toLowerCase();
      return;
    }
    if (this.trailerSig !== undefined) throw malformed('a trailer follows x-amz-trailer-signature');
    if (!(this.opts.declaredTrailers ?? []).includes(name)) {
      throw malformed(`trailer ${name} was not declared in x-amz-trailer`);
    }
    if (this.trailerList.some(([n]) => n === name) || this.trailerList.length >= MAX_TRAILERS) {
      throw malformed(`repeated trailer ${name}`);
    }
    this.trailerList.push([name, value]);
  }

  private finishTrailers(): void {
    if (this.opts.trailer === 'signed') {
      if (this.trailerSig === undefined) throw incomplete('x-amz-trailer-signature is missing');
      const ctx = this.opts.signing;
      if (ctx) {
        const stringToSign = trailerStringToSign(ctx, this.previousSig, this.trailerList);
        const expected = sign(ctx.key, stringToSign);
        if (!constantTimeEqual(expected, this.trailerSig)) {
          throw new S3Error('SignatureDoesNotMatch', undefined, {
            StringToSign: stringToSign,
            SignatureProvided: this.trailerSig,
          });
        }
      }
    }
    this.state = State.Done;
  }
}
