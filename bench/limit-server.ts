/**
 * The *limit reference*: a bare node:http server doing the least an object store must do with the
 * same bytes — PUT streams the body to a temp file, fsyncs it and renames it into place (as s3local
 * does); GET streams the file back; HEAD stats; DELETE unlinks. No auth, no hashing, no index:
 * a listing is served from an in-memory sorted key list and multipart parts are plain files
 * concatenated on completion. Run as a child process (`node dist/bench/limit-server.js <dir>
 * [--md5-etag]`) so its RSS and CPU are measured like s3local's; it prints
 * `listening http://127.0.0.1:<port>`.
 *
 * `--md5-etag` (for real clients such as rclone, which check a single PUT's ETag against the MD5
 * of what they sent and HEAD each object after uploading it): PUT bodies are hashed in one pass
 * and the MD5 is the ETag of PUT, HEAD and GET answers. Off by default, so the large-transfer
 * limits stay those of moving bytes only.
 */
import { createHash, randomUUID } from 'node:crypto';
import { close, createReadStream, createWriteStream, fsync, open } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// Plain descriptors: a FileHandle that fed a stream opened with autoClose: false never closes.
const openFd = promisify(open);
const fsyncFd = promisify(fsync);
const closeFd = promisify(close);

/** A running limit server. */
export interface LimitServer {
  port: number;
  close(): Promise<void>;
}

function fileName(key: string): string {
  return encodeURIComponent(key);
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Options of {@link startLimitServer}. */
export interface LimitServerOptions {
  /** Hash PUT bodies and answer with their MD5 as the ETag (see the file comment). */
  md5Etag?: boolean;
}

/** Starts the limit server on 127.0.0.1:`port` storing files under `dir`. */
export async function startLimitServer(
  dir: string,
  port = 0,
  options: LimitServerOptions = {},
): Promise<LimitServer> {
  const objects = join(dir, 'objects');
  const tmp = join(dir, 'tmp');
  const uploads = join(dir, 'uploads');
  await Promise.all([objects, tmp, uploads].map((d) => mkdir(d, { recursive: true })));
  const sizes = new Map<string, number>();
  const etags = new Map<string, string>();
  let sorted: string[] | null = null;

  /** The ETag of `key`: its MD5 under --md5-etag, else a constant. */
  function etagOf(key: string): string {
    return `"${etags.get(key) ?? 'limit'}"`;
  }

  /**
   * Streams `req` into `target` through a temp file: write, fsync, close, rename. Returns the size
   * and, under --md5-etag, the MD5 of the body.
   */
  async function receive(req: IncomingMessage, target: string): Promise<{ size: number; md5?: string }> {
    const temp = join(tmp, randomUUID());
    const fd = await openFd(temp, 'w');
    const md5 = options.md5Etag ? createHash('md5') : undefined;
    try {
      const sink = createWriteStream(temp, { fd, autoClose: false });
      if (md5) {
        const hasher = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            md5.update(chunk);
            cb(null, chunk);
          },
        });
        await pipeline(req, hasher, sink);
      } else {
        await pipeline(req, sink);
      }
      await fsyncFd(fd);
    } catch (err) {
      await closeFd(fd);
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await closeFd(fd);
    await rename(temp, target);
    const size = (await stat(target)).size;
    return md5 ? { size, md5: md5.digest('hex') } : { size };
  }

  /** ListObjectsV2, or V1 without `list-type=2` (marker / NextMarker), with prefix and delimiter. */
  function list(res: ServerResponse, params: URLSearchParams): void {
    sorted ??= [...sizes.keys()].sort();
    const v2 = params.get('list-type') === '2';
    const max = Math.min(Number(params.get('max-keys') ?? 1000), 1000);
    const after =
      (v2 ? (params.get('continuation-token') ?? params.get('start-after')) : params.get('marker')) ?? '';
    const prefix = params.get('prefix') ?? '';
    const delimiter = params.get('delimiter') ?? '';
    let lo = 0;
    let hi = sorted.length;
    const from = after > prefix ? after : prefix;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] ?? '') < from || (sorted[mid] === after && after !== '')) lo = mid + 1;
      else hi = mid;
    }
    const keys: string[] = [];
    const prefixes: string[] = [];
    let last = '';
    let i = lo;
    for (; i < sorted.length && keys.length + prefixes.length < max; i++) {
      const k = sorted[i] ?? '';
      if (!k.startsWith(prefix)) break;
      if (k === after) continue;
      const cut = delimiter === '' ? -1 : k.indexOf(delimiter, prefix.length);
      if (cut >= 0) {
        const common = k.slice(0, cut + delimiter.length);
        if (prefixes[prefixes.length - 1] !== common) prefixes.push(common);
        last = k;
        // Skip the rest of this common prefix.
        while (i + 1 < sorted.length && (sorted[i + 1] ?? '').startsWith(common)) last = sorted[++i] ?? last;
        continue;
      }
      keys.push(k);
      last = k;
    }
    const truncated = i < sorted.length && (sorted[i] ?? '').startsWith(prefix);
    const now = new Date().toISOString();
    const next = truncated && last !== '' ? escapeXml(last) : '';
    const body =
      '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>' +
      `<Prefix>${escapeXml(prefix)}</Prefix><MaxKeys>${max}</MaxKeys>` +
      `<IsTruncated>${truncated}</IsTruncated>` +
      (v2 ? `<KeyCount>${keys.length + prefixes.length}</KeyCount>` : '') +
      (next === ''
        ? ''
        : v2
          ? `<NextContinuationToken>${next}</NextContinuationToken>`
          : `<NextMarker>${next}</NextMarker>`) +
      keys
        .map(
          (k) =>
            `<Contents><Key>${escapeXml(k)}</Key><LastModified>${now}</LastModified>` +
            `<ETag>${etagOf(k)}</ETag><Size>${sizes.get(k) ?? 0}</Size></Contents>`,
        )
        .join('') +
      prefixes.map((p) => `<CommonPrefixes><Prefix>${escapeXml(p)}</Prefix></CommonPrefixes>`).join('') +
      '</ListBucketResult>';
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://limit');
    const parts = url.pathname.split('/');
    const key = decodeURIComponent(parts.slice(2).join('/'));
    const params = url.searchParams;
    const file = join(objects, fileName(key));
    const uploadId = params.get('uploadId');
    if (req.method === 'GET' && key === '' && !params.has('location') && !params.has('uploads')) {
      list(res, params);
      return;
    }
    if (key === '') {
      res.writeHead(200, { 'content-length': 0 }).end();
      return;
    }
    switch (req.method ?? '') {
      case 'PUT': {
        if (uploadId !== null) {
          const n = Number(params.get('partNumber'));
          await receive(req, join(uploads, fileName(uploadId), String(n)));
          res.writeHead(200, { etag: `"part-${n}"`, 'content-length': 0 }).end();
          return;
        }
        const got = await receive(req, file);
        sizes.set(key, got.size);
        if (got.md5 !== undefined) etags.set(key, got.md5);
        sorted = null;
        res.writeHead(200, { etag: etagOf(key), 'content-length': 0 }).end();
        return;
      }
      case 'GET': {
        let size: number;
        let mtime: Date;
        try {
          ({ size, mtime } = await stat(file));
        } catch {
          res.writeHead(404, { 'content-length': 0 }).end();
          return;
        }
        res.writeHead(200, {
          'content-length': size,
          'content-type': 'application/octet-stream',
          etag: etagOf(key),
          'last-modified': mtime.toUTCString(),
        });
        // 1 MiB reads stream large files fastest here; a small file gets a buffer of its own size.
        const highWaterMark = Math.max(16 * 1024, Math.min(size, 1024 * 1024));
        await pipeline(createReadStream(file, { highWaterMark }), res);
        return;
      }
      case 'HEAD': {
        try {
          const st = await stat(file);
          res
            .writeHead(200, {
              'content-length': st.size,
              etag: etagOf(key),
              'last-modified': st.mtime.toUTCString(),
            })
            .end();
        } catch {
          res.writeHead(404).end();
        }
        return;
      }
      case 'DELETE': {
        if (uploadId !== null) {
          await rm(join(uploads, fileName(uploadId)), { recursive: true, force: true });
        } else {
          await unlink(file).catch(() => undefined);
          etags.delete(key);
          if (sizes.delete(key)) sorted = null;
        }
        res.writeHead(204).end();
        return;
      }
      case 'POST': {
        if (params.has('uploads')) {
          const id = randomUUID();
          await mkdir(join(uploads, id));
          const body = `<InitiateMultipartUploadResult><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`;
          res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
          return;
        }
        if (uploadId !== null) {
          req.resume();
          const dirOf = join(uploads, fileName(uploadId));
          const names = (await readdir(dirOf)).map(Number).sort((a, b) => a - b);
          const temp = join(tmp, randomUUID());
          const fd = await openFd(temp, 'w');
          try {
            for (const n of names) {
              await pipeline(
                createReadStream(join(dirOf, String(n))),
                createWriteStream(temp, { fd, autoClose: false }),
              );
            }
            await fsyncFd(fd);
          } finally {
            await closeFd(fd);
          }
          await rename(temp, file);
          await rm(dirOf, { recursive: true, force: true });
          sizes.set(key, (await stat(file)).size);
          etags.delete(key);
          sorted = null;
          const body = `<CompleteMultipartUploadResult><ETag>"limit-${names.length}"</ETag></CompleteMultipartUploadResult>`;
          res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
          return;
        }
        break;
      }
      default:
        break;
    }
    res.writeHead(501, { 'content-length': 0 }).end();
  }

  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-length': 0 }).end();
      else res.destroy(err instanceof Error ? err : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('limit server has no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Entry point of the child process: `limit-server.js <dir> [--md5-etag]`. */
async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: limit-server.js <dir> [--md5-etag]');
  const server = await startLimitServer(dir, 0, { md5Etag: process.argv.slice(3).includes('--md5-etag') });
  process.stdout.write(`listening http://127.0.0.1:${server.port}\n`);
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
