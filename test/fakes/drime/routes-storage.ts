/**
 * The fake's download route (drime-api.md §6) and its stand-in for Cloudflare R2: presigned PUTs
 * (single objects and multipart parts) and presigned GETs with Range, under `/__r2/<key>`.
 */
import { decodeEntryHash } from './hash.js';
import {
  json,
  s3XmlError,
  type ApiContext,
  type FakeRequest,
  type FakeResponse,
  type UrlSigner,
} from './context.js';
import { storePut } from './routes-upload.js';
import { md5Hex, type FakeDrimeState } from './state.js';

const FIVE_GIB = 5 * 1024 ** 3;
/** An empty ZIP archive (just the end-of-central-directory record). */
const EMPTY_ZIP = Buffer.concat([Buffer.from([0x50, 0x4b, 0x05, 0x06]), Buffer.alloc(18)]);

function zipResponse(): FakeResponse {
  return {
    status: 200,
    headers: {
      'content-type': 'application/zip',
      'content-disposition': `attachment; filename="download-${Date.now()}.zip"`,
    },
    body: EMPTY_ZIP,
  };
}

/** Serves `data` honouring a single `Range` when `ranges` is on (206 / 416), else 200 in full. */
export function byteResponse(
  data: Buffer,
  rangeHeader: string | undefined,
  ranges: boolean,
  headers: Record<string, string>,
): FakeResponse {
  const base = { ...headers, 'accept-ranges': ranges ? 'bytes' : 'none', etag: `"${md5Hex(data)}"` };
  const m = ranges && rangeHeader ? /^bytes=(\d*)-(\d*)$/.exec(rangeHeader.trim()) : null;
  if (!m) return { status: 200, headers: base, body: data };
  const size = data.length;
  let start: number;
  let end: number;
  if (m[1] === '' && m[2] !== '') {
    const n = Number(m[2]);
    start = Math.max(0, size - n);
    end = size - 1;
    if (n === 0) start = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (m[1] === '' && m[2] === '') return { status: 200, headers: base, body: data };
  if (start >= size || start > end) {
    return { status: 416, headers: { ...base, 'content-range': `bytes */${size}` }, body: '' };
  }
  return {
    status: 206,
    headers: { ...base, 'content-range': `bytes ${start}-${end}/${size}` },
    body: data.subarray(start, end + 1),
  };
}

/** `GET /file-entries/download/{hash}`: 302 to storage, or 200 streamed by the API host. */
export function download(ctx: ApiContext, hash: string): FakeResponse {
  if (hash.includes(',')) return zipResponse();
  const id = decodeEntryHash(hash);
  if (id === undefined) return json(404, { message: 'No entry hashes provided.' });
  const e = ctx.state.entries.get(id);
  if (!e) return json(404, { message: 'No entry hashes provided.' });
  if (!ctx.state.visible(e, ctx.user, e.workspaceId)) {
    return json(403, { message: "You don't have required permissions for this action." });
  }
  // BeDrive looks entries up without the trash and zips anything that is not exactly one file.
  if (e.deletedAt !== null || e.type === 'folder' || e.backup) return zipResponse();
  const blob = ctx.state.blobOf(e);
  if (!blob) return json(404, { message: 'File not found.' });
  const disposition = `attachment; filename="${encodeURIComponent(e.name)}"`;
  if (ctx.state.options.download === 'redirect') {
    const url = ctx.signer.sign(
      ctx.origin,
      'GET',
      ctx.state.blobKey(e.fileName),
      { 'response-content-disposition': disposition, 'response-content-type': 'application/octet-stream' },
      ctx.state.options.presignTtlMs,
    );
    return { status: 302, headers: { location: url }, body: '' };
  }
  // Streamed by the web server: BeDrive ignores Range for non-media files.
  return byteResponse(blob, undefined, false, {
    'content-type': e.mime ?? 'application/octet-stream',
    'content-disposition': disposition,
  });
}

/** The storage host: `/__r2/<key>` presigned PUT (object or part) and GET. */
export function storage(state: FakeDrimeState, signer: UrlSigner, req: FakeRequest): FakeResponse {
  const key = decodeURIComponent(req.path.slice('/__r2/'.length));
  if (state.options.rejectAuthorizationOnStorage && req.headers.authorization !== undefined) {
    return s3XmlError(
      400,
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter...',
    );
  }
  const verdict = signer.verify(req.method, key, req.query);
  if (verdict === 'bad')
    return s3XmlError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match.');
  if (verdict === 'expired') return s3XmlError(403, 'AccessDenied', 'Request has expired');
  if (req.method === 'PUT') {
    if (req.headers['content-length'] === undefined)
      return s3XmlError(411, 'MissingContentLength', 'Length required');
    if (req.body.length > FIVE_GIB) return s3XmlError(400, 'EntityTooLarge', 'Part too large');
    const ct = req.query.get('ct');
    if (ct !== null && req.headers['content-type'] !== ct) {
      return s3XmlError(403, 'SignatureDoesNotMatch', 'Content-Type is signed and does not match.');
    }
    const r = storePut({ state }, key, req.query, req.body);
    if ('error' in r) return s3XmlError(r.error === 'NoSuchUpload' ? 404 : 400, r.error, r.error);
    return { status: 200, headers: { etag: r.etag }, body: '' };
  }
  if (req.method === 'GET') {
    const blob = state.blobs.get(key);
    if (!blob) return s3XmlError(404, 'NoSuchKey', 'The specified key does not exist.');
    const headers: Record<string, string> = {
      'content-type': req.query.get('response-content-type') ?? 'application/octet-stream',
    };
    const cd = req.query.get('response-content-disposition');
    if (cd) headers['content-disposition'] = cd;
    const range = req.headers.range;
    return byteResponse(
      blob,
      typeof range === 'string' ? range : undefined,
      state.options.rangeSupport,
      headers,
    );
  }
  return s3XmlError(405, 'MethodNotAllowed', 'Method not allowed');
}
