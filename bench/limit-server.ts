/**
 * The *limit reference*: a bare node:http server doing the least an object store must do with the
 * same bytes — PUT streams the body to a temp file, fsyncs it and renames it into place (as s3local
 * does); GET streams the file back; HEAD stats; DELETE unlinks. No auth, no hashing, no index:
 * a ListObjectsV2 is served from an in-memory sorted key list and multipart parts are plain files
 * concatenated on completion. Run as a child process (`node dist/bench/limit-server.js <dir>`) so
 * its RSS and CPU are measured like s3local's; it prints `listening http://127.0.0.1:<port>`.
 */
import { randomUUID } from 'node:crypto';
import { close, createReadStream, createWriteStream, fsync, open } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
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

/** Starts the limit server on 127.0.0.1:`port` storing files under `dir`. */
export async function startLimitServer(dir: string, port = 0): Promise<LimitServer> {
  const objects = join(dir, 'objects');
  const tmp = join(dir, 'tmp');
  const uploads = join(dir, 'uploads');
  await Promise.all([objects, tmp, uploads].map((d) => mkdir(d, { recursive: true })));
  const sizes = new Map<string, number>();
  let sorted: string[] | null = null;

  /** Streams `req` into `target` through a temp file: write, fsync, close, rename. */
  async function receive(req: IncomingMessage, target: string): Promise<number> {
    const temp = join(tmp, randomUUID());
    const fd = await openFd(temp, 'w');
    try {
      await pipeline(req, createWriteStream(temp, { fd, autoClose: false }));
      await fsyncFd(fd);
    } catch (err) {
      await closeFd(fd);
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await closeFd(fd);
    await rename(temp, target);
    return (await stat(target)).size;
  }

  function list(res: ServerResponse, params: URLSearchParams): void {
    sorted ??= [...sizes.keys()].sort();
    const max = Math.min(Number(params.get('max-keys') ?? 1000), 1000);
    const after = params.get('continuation-token') ?? params.get('start-after') ?? '';
    const prefix = params.get('prefix') ?? '';
    let lo = 0;
    let hi = sorted.length;
    const from = after > prefix ? after : prefix;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] ?? '') < from || (sorted[mid] === after && after !== '')) lo = mid + 1;
      else hi = mid;
    }
    const keys: string[] = [];
    let i = lo;
    for (; i < sorted.length && keys.length < max; i++) {
      const k = sorted[i] ?? '';
      if (!k.startsWith(prefix)) break;
      if (k === after) continue;
      keys.push(k);
    }
    const truncated = i < sorted.length && (sorted[i] ?? '').startsWith(prefix);
    const now = new Date().toISOString();
    const body =
      '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>' +
      `<IsTruncated>${truncated}</IsTruncated><KeyCount>${keys.length}</KeyCount>` +
      (truncated && keys.length > 0
        ? `<NextContinuationToken>${escapeXml(keys[keys.length - 1] ?? '')}</NextContinuationToken>`
        : '') +
      keys
        .map(
          (k) =>
            `<Contents><Key>${escapeXml(k)}</Key><LastModified>${now}</LastModified>` +
            `<ETag>"limit"</ETag><Size>${sizes.get(k) ?? 0}</Size></Contents>`,
        )
        .join('') +
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
    if (req.method === 'GET' && key === '' && params.get('list-type') === '2') {
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
        sizes.set(key, await receive(req, file));
        sorted = null;
        res.writeHead(200, { etag: '"limit"', 'content-length': 0 }).end();
        return;
      }
      case 'GET': {
        let size: number;
        try {
          size = (await stat(file)).size;
        } catch {
          res.writeHead(404, { 'content-length': 0 }).end();
          return;
        }
        res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
        // 1 MiB reads stream large files fastest here; a small file gets a buffer of its own size.
        const highWaterMark = Math.max(16 * 1024, Math.min(size, 1024 * 1024));
        await pipeline(createReadStream(file, { highWaterMark }), res);
        return;
      }
      case 'HEAD': {
        try {
          const st = await stat(file);
          res.writeHead(200, { 'content-length': st.size }).end();
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

/** Entry point of the child process: `limit-server.js <dir>`. */
async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: limit-server.js <dir>');
  const server = await startLimitServer(dir);
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
