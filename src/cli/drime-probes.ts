/**
 * The probes of `s3local drime check`: cheap experiments against the Drime API that answer the
 * open questions of drime-api.md §13 (and the other points docs/drime.md lists as unverified).
 * Everything they create lives in one fresh folder that is deleted permanently at the end.
 *
 * PASS means Drime behaves the way s3local expects; DIFFERENT means it does not — the detail
 * says what was seen and what it means for s3local; ERROR means the probe itself failed.
 */
import type { DrimeClient } from '../storage/drime/client.js';
import { openDownload } from '../storage/drime/download.js';
import { readAll } from '../storage/drime/http.js';
import { parseRetryAfter } from '../storage/drime/retry.js';
import { decodeEntry, isFolder, newestFirst, type DrimeEntry } from '../storage/drime/types.js';
import {
  ProbeUploader,
  describeAnswer,
  errorText,
  isRefusal,
  rawApi,
  rawGet,
  type ProbeResult,
  type ProbeStatus,
  type RawAnswer,
} from './drime-probe-kit.js';

export interface ProbeContext {
  client: DrimeClient;
  /** A client of the same account with another listing page size. */
  clientWithPageSize(perPage: number): DrimeClient;
  up: ProbeUploader;
  /** The probe folder. */
  folderId: number;
  /** A folder known to sit directly at the workspace root. */
  rootChildId: number;
  /** How many token checks the rate-limit probe may send. */
  rateLimitRequests: number;
}

type Probe = { id: string; title: string; run: (ctx: ProbeContext, r: Finding) => Promise<void> };

/** A probe's findings while it runs. */
class Finding {
  status: ProbeStatus = 'PASS';
  readonly detail: string[] = [];
  see(line: string): void {
    this.detail.push(line);
  }
  differs(line: string): void {
    this.status = 'DIFFERENT';
    this.detail.push(line);
  }
}

const MAX_BODY = 64 * 1024 * 1024;

async function bytesOf(client: DrimeClient, e: DrimeEntry, range?: { start: number; end: number }) {
  const stream = await openDownload(
    client,
    { hash: e.hash, size: e.fileSize, name: e.name, fileName: e.fileName },
    range,
  );
  return readAll(stream, MAX_BODY);
}

async function files(ctx: ProbeContext, parentId: number): Promise<DrimeEntry[]> {
  return (await ctx.client.listChildren(parentId)).filter((e) => !isFolder(e));
}

/** Entries of a raw listing answer (empty when it has no data array). */
function entriesOf(a: RawAnswer): DrimeEntry[] {
  const data = a.json?.data;
  return Array.isArray(data) ? data.map(decodeEntry) : [];
}

/** Where an entry is now: live, in the trash, or gone for good. */
async function whereIs(ctx: ProbeContext, e: DrimeEntry): Promise<'live' | 'trash' | 'gone'> {
  try {
    const now = await ctx.client.getEntry(e.id);
    return now.deletedAt === null ? 'live' : 'trash';
  } catch (err) {
    if (isRefusal(err) && err.status === 404) return 'gone';
    // GET /file-entries/{id} is not usable here (see probe 3): look in the folder and the trash.
    if ((await ctx.client.listChildren(ctx.folderId)).some((x) => x.id === e.id)) return 'live';
    const trash = await ctx.client.listAll({ deletedOnly: true });
    return trash.entries.some((x) => x.id === e.id) ? 'trash' : 'gone';
  }
}

const sameName: Probe = {
  id: '1',
  title: 'Same-name upload: replace or duplicate, same id, case-insensitive?',
  async run(ctx, r) {
    const dir = await ctx.client.createFolder('same-name', ctx.folderId);
    const first = await ctx.up.form('same.txt', dir.id, 'first version');
    const second = await ctx.up.form('same.txt', dir.id, 'second version, longer');
    const named = (await files(ctx, dir.id)).filter((e) => e.name === 'same.txt');
    if (named.length === 2) {
      r.see('a second upload of same.txt made a second entry beside the first (duplicate, as BeDrive)');
    } else if (named.length === 1) {
      const sameId = second.id === first.id;
      const newFile = second.fileName !== first.fileName;
      r.see(
        `a second upload of same.txt replaced the entry (${sameId ? 'same id' : `new id ${second.id}, was ${first.id}`}, ` +
          `${newFile ? 'new' : 'UNCHANGED'} file_name)`,
      );
      const backups = (await ctx.client.listAll({ parentIds: String(dir.id), backup: 1 })).entries.filter(
        (e) => e.backup && e.parentId === dir.id,
      );
      r.see(`${backups.length} older version(s) listed with backup=1`);
      if (!newFile) {
        r.differs(
          'the file_name did not change: s3local trusts a cached MD5 only while the file_name matches, so ' +
            'an overwrite from another client could keep a stale ETag',
        );
      }
    } else {
      r.differs(`after two uploads, ${named.length} live entries are named same.txt (expected 1 or 2)`);
    }
    const newest = [...named].sort(newestFirst)[0];
    if (newest && (await bytesOf(ctx.client, newest)).toString() !== 'second version, longer') {
      r.differs('the newest entry (greatest updated_at, then id) does not hold the second upload');
    }
    const upper = await ctx.up.form('SAME.txt', dir.id, 'third, upper case');
    const names = (await files(ctx, dir.id)).map((e) => e.name);
    if (names.includes('SAME.txt') && names.includes('same.txt')) {
      r.see('SAME.txt was stored beside same.txt (file names compared case-sensitively)');
    } else {
      r.see(
        `SAME.txt replaced same.txt (case-insensitive); the entry is named "${upper.name}" — s3local stores ` +
          'the later of two such keys under an alias, so this is handled',
      );
    }
  },
};

const rootListing: Probe = {
  id: '2',
  title: 'Root listing without parentIds; parentIds=0; folderId=0',
  async run(ctx, r) {
    const explicit = await ctx.client.listAll({ folderId: 0 });
    const below = explicit.entries.filter((e) => e.parentId !== null).length;
    const known = explicit.entries.some((e) => e.id === ctx.rootChildId);
    r.see(
      `folderId=0 (what s3local sends): folder.id ${explicit.folderId ?? 'absent'}, ` +
        `${explicit.entries.length} entries, ${below} not at the root, a known root folder ${known ? 'listed' : 'MISSING'}`,
    );
    if (explicit.folderId !== 0 || !known) r.differs('folderId=0 does not select the root as expected');
    if (below > 0) r.see('s3local filters entries below the root out itself, so this is handled');
    // Newest first: the probe's own files (below the root) come first if the listing is not scoped.
    const query = { perPage: 50, orderBy: 'updated_at', orderDir: 'desc' };
    for (const [label, extra] of [
      ['no parentIds/folderId', {}],
      ['parentIds=0', { parentIds: 0 }],
    ] as const) {
      const a = await rawApi(ctx.client, 'GET', '/drive/file-entries', { query: { ...query, ...extra } });
      const list = entriesOf(a);
      const notRoot = list.filter((e) => e.parentId !== null).length;
      r.see(
        a.status !== 200
          ? `${label}: answered ${describeAnswer(a)}`
          : list.length === 0
            ? `${label}: no entries`
            : notRoot === 0
              ? `${label}: root entries only (${list.length} on the first page)`
              : `${label}: ${notRoot} of ${list.length} entries on the first page are below the root (not scoped)`,
      );
    }
  },
};

const entryJson: Probe = {
  id: '3',
  title: 'GET /file-entries/{id} with Accept: application/json',
  async run(ctx, r) {
    const f = await ctx.up.form('entry.txt', ctx.folderId, 'entry probe');
    const a = await rawApi(ctx.client, 'GET', `/file-entries/${f.id}`);
    const fe = a.json?.fileEntry as { id?: unknown } | undefined;
    if (a.status === 200 && fe && Number(fe.id) === f.id) {
      r.see(`answered ${describeAnswer(a)} with {fileEntry} for the right id`);
      return;
    }
    r.differs(
      `answered ${describeAnswer(a)}${a.json ? ' without a matching fileEntry' : ` (${a.body.length} bytes)`}: ` +
        's3local uses it to re-check uploads answered with users: [] and would redo those uploads',
    );
    const m = await rawApi(ctx.client, 'GET', `/file-entries/${f.id}/model`);
    const mfe = m.json?.fileEntry as { id?: unknown } | undefined;
    r.see(
      `/file-entries/{id}/model answered ${describeAnswer(m)}${mfe && Number(mfe.id) === f.id ? ' with {fileEntry}' : ''}`,
    );
  },
};

const shortNames: Probe = {
  id: '4',
  title: 'Folder and rename names shorter than 3 characters; extensions over 10 characters',
  async run(ctx, r) {
    try {
      const ab = await ctx.client.createFolder('ab', ctx.folderId);
      if (ab.name === 'ab') r.see('POST /folders accepted the 2-character name "ab"');
      else r.differs(`POST /folders stored "ab" as "${ab.name}"`);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      r.differs(
        `POST /folders refused "ab" (${errorText(err)}): keys with a folder name of 1-2 characters ` +
          "(restic's data/ab/...) fail with InvalidArgument",
      );
    }
    const f = await ctx.up.form('rename-me.txt', ctx.folderId, 'rename probe');
    try {
      const renamed = await ctx.client.renameEntry(f.id, 'cd', f.name);
      if (renamed.name === 'cd') r.see('a rename to the 2-character name "cd" was accepted');
      else r.differs(`a rename to "cd" stored "${renamed.name}"`);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      r.differs(
        `a rename to "cd" was refused (${errorText(err)}): CopyObject to such names falls back to a streamed copy`,
      );
    }
    try {
      const e = await ctx.up.form('probe.extension1234', ctx.folderId, 'long extension');
      r.see(
        `POST /uploads of "probe.extension1234" was accepted; extension stored as ${JSON.stringify(e.extension)} ` +
          '(s3local sends such names through the presigned path with extension "bin" anyway)',
      );
    } catch (err) {
      r.see(
        `POST /uploads of "probe.extension1234" failed (${errorText(err)}); s3local never sends such names ` +
          'through POST /uploads, so this is handled',
      );
    }
  },
};

function checkRange(r: Finding, a: RawAnswer, data: Buffer, where: string): void {
  const want = data.subarray(10, 20);
  if (a.status === 206) {
    const cr = String(a.headers['content-range'] ?? '');
    if (cr === `bytes 10-19/${data.length}` && a.body.equals(want)) r.see(`${where} answered Range with 206`);
    else r.differs(`${where} answered 206 with Content-Range "${cr}" and ${a.body.length} bytes`);
  } else if (a.status === 200) {
    if (a.body.equals(data)) r.see(`${where} ignored Range (200, whole file): s3local skips into it`);
    else r.differs(`${where} answered 200 with ${a.body.length} bytes that are not the file`);
  } else r.differs(`${where} answered ${describeAnswer(a)} to a ranged GET`);
}

const download: Probe = {
  id: '5',
  title: 'Download: 302 to storage or 200; Range honoured?',
  async run(ctx, r) {
    const data = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 7) % 251));
    const f = await ctx.up.form('range.bin', ctx.folderId, data);
    const range = { range: 'bytes=10-19', accept: '*/*' };
    const a = await rawApi(ctx.client, 'GET', `/file-entries/download/${f.hash}`, { headers: range });
    const location = a.headers.location;
    if (a.status >= 300 && a.status < 400 && location) {
      const target = new URL(location, ctx.client.apiUrl);
      r.see(`the API answered ${a.status}, a redirect to ${target.host}`);
      checkRange(
        r,
        await rawGet(ctx.client, target.toString(), { range: 'bytes=10-19' }),
        data,
        'the storage host',
      );
    } else if (a.status === 200 || a.status === 206) {
      r.see(`the API host streamed the file itself (${a.status})`);
      checkRange(r, a, data, 'the API host');
    } else {
      r.differs(`the download answered ${describeAnswer(a)}`);
    }
    const whole = await bytesOf(ctx.client, f);
    const part = await bytesOf(ctx.client, f, { start: 10, end: 19 });
    if (whole.equals(data) && part.equals(data.subarray(10, 20))) {
      r.see("s3local's download returned the right bytes, whole and ranged");
    } else r.differs("s3local's download returned wrong bytes");
  },
};

const rateLimit: Probe = {
  id: '6',
  title: 'What a 429 looks like (Retry-After, limits)',
  async run(ctx, r) {
    const total = ctx.rateLimitRequests;
    const started = Date.now();
    let sent = 0;
    let limited: { a: RawAnswer; at: number } | undefined;
    let lastOk: RawAnswer | undefined;
    const others = new Map<number, number>();
    const worker = async (): Promise<void> => {
      while (!limited && sent < total) {
        const n = ++sent;
        const a = await rawApi(ctx.client, 'GET', '/cli/loggedUser');
        if (a.status === 429) limited ??= { a, at: n };
        else if (a.status === 200) lastOk = a;
        else others.set(a.status, (others.get(a.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, total) }, worker));
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const limits = (a: RawAnswer | undefined): string => {
      const l = a?.headers['x-ratelimit-limit'];
      const left = a?.headers['x-ratelimit-remaining'];
      return l === undefined
        ? 'no X-RateLimit headers'
        : `X-RateLimit-Limit ${String(l)}, Remaining ${String(left)}`;
    };
    if (others.size > 0) r.see(`other answers: ${[...others].map(([s, n]) => `${n}x ${s}`).join(', ')}`);
    if (!limited) {
      r.see(`no 429 in ${sent} token checks in ${secs} s (4 at a time); ${limits(lastOk)}`);
      r.see('send more with --rate-limit-requests N');
      return;
    }
    const ra = limited.a.headers['retry-after'];
    r.see(
      `429 after ${limited.at} requests in ${secs} s: Retry-After ${ra === undefined ? 'absent' : JSON.stringify(ra)}, ` +
        `${limits(limited.a)}, body ${JSON.stringify(limited.a.body.toString('utf8').slice(0, 120))}`,
    );
    if (parseRetryAfter(ra) === undefined) {
      r.differs('the 429 has no usable Retry-After: s3local falls back to exponential backoff');
    }
  },
};

const deleteDefault: Probe = {
  id: '7',
  title: 'Does deleteForever default to true when omitted?',
  async run(ctx, r) {
    const f = await ctx.up.form('delete-default.txt', ctx.folderId, 'delete probe');
    const a = await rawApi(ctx.client, 'POST', '/file-entries/delete', { json: { entryIds: [f.id] } });
    if (a.status !== 200) {
      r.differs(`a delete without deleteForever answered ${describeAnswer(a)}`);
      return;
    }
    const where = await whereIs(ctx, f);
    if (where === 'gone')
      r.see('deleted permanently (as BeDrive); s3local always sends deleteForever anyway');
    else if (where === 'trash') {
      r.differs(
        'moved to the trash (BeDrive deletes permanently); harmless: s3local always sends deleteForever',
      );
      await ctx.client.deleteEntries([f.id], true);
    } else r.differs('the entry is still there after a delete without deleteForever');
  },
};

const pagination: Probe = {
  id: '8',
  title: 'Pagination keys and a perPage cap',
  async run(ctx, r) {
    const dir = await ctx.client.createFolder('pages', ctx.folderId);
    for (let i = 1; i <= 5; i++) await ctx.up.form(`page-${i}.txt`, dir.id, `page ${i}`);
    const query = { parentIds: dir.id, perPage: 2, page: 1, orderBy: 'name', orderDir: 'asc' };
    const p1 = await rawApi(ctx.client, 'GET', '/drive/file-entries', { query });
    const keys = Object.keys(p1.json ?? {}).filter((k) => k !== 'data');
    r.see(`perPage=2, page 1: ${describeAnswer(p1)}, keys ${keys.sort().join(', ') || '(none)'}`);
    const stops = ['last_page', 'next_page', 'next_page_url'].filter((k) => keys.includes(k));
    if (stops.length === 0) r.see('no last_page/next_page: s3local stops on a short page instead');
    const got = await ctx.clientWithPageSize(2).listChildren(dir.id);
    const ids = new Set(got.map((e) => e.id));
    if (got.length === 5 && ids.size === 5) r.see("s3local's paging with perPage=2 read all 5 files");
    else r.differs(`s3local's paging with perPage=2 read ${got.length} entries (${ids.size} distinct) of 5`);
    for (const perPage of [1000, 100000]) {
      const a = await rawApi(ctx.client, 'GET', '/drive/file-entries', { query: { ...query, perPage } });
      const echoed = Number(a.json?.per_page);
      r.see(
        `perPage=${perPage}: ${a.status === 200 ? `per_page ${Number.isFinite(echoed) ? echoed : 'absent'}` : describeAnswer(a)}` +
          (Number.isFinite(echoed) && echoed < perPage ? ' (capped; s3local reads every page anyway)' : ''),
      );
    }
  },
};

const emptyFiles: Probe = {
  id: 'A',
  title: 'Zero-byte files on POST /uploads and on the presigned PUT',
  async run(ctx, r) {
    for (const [label, up] of [
      ['POST /uploads', () => ctx.up.form('empty.txt', ctx.folderId, '')],
      ['presigned PUT + /s3/entries', () => ctx.up.presigned('empty-presigned', ctx.folderId, '')],
    ] as const) {
      try {
        const e = await up();
        r.see(`${label}: a zero-byte file was accepted (size ${e.fileSize})`);
      } catch (err) {
        r.differs(
          `${label}: a zero-byte file failed (${errorText(err)}): empty objects and folder markers fail`,
        );
      }
    }
  },
};

const exactNames: Probe = {
  id: 'B',
  title: 'Names kept exactly as sent',
  async run(ctx, r) {
    const names = [
      'Ünïcödé  double  spaces.txt',
      'e\u0301-decomposed.txt',
      'emoji-😀.txt',
      'a+b=c (1) #x.txt',
    ];
    const dir = await ctx.client.createFolder('names', ctx.folderId);
    for (const name of names) {
      const e = await ctx.up.form(name, dir.id, name);
      if (e.name !== name) r.differs(`${JSON.stringify(name)} was stored as ${JSON.stringify(e.name)}`);
    }
    const listed = (await files(ctx, dir.id)).map((e) => e.name);
    for (const name of names) {
      if (!listed.includes(name)) r.differs(`${JSON.stringify(name)} is not in the listing under that name`);
    }
    if (r.status === 'PASS')
      r.see(`${names.length} names with accents, NFD, emoji and punctuation kept exactly`);
    else r.see('s3local refuses an upload whose stored name differs, so such keys fail instead of changing');
  },
};

const folderSize: Probe = {
  id: 'C',
  title: "A folder's file_size after its files go to the trash",
  async run(ctx, r) {
    const dir = await ctx.client.createFolder('sizes', ctx.folderId);
    const f = await ctx.up.form('sized.txt', dir.id, 'x'.repeat(100));
    const sizeNow = async (): Promise<number | undefined> =>
      (await ctx.client.listChildren(ctx.folderId)).find((e) => e.id === dir.id)?.fileSize;
    const before = await sizeNow();
    await ctx.client.deleteEntries([f.id], false);
    const after = await sizeNow();
    r.see(`file_size of a folder holding 100 bytes: ${before}; after trashing the file: ${after}`);
    if (after !== 0) {
      r.differs(
        'the size did not drop to 0: s3local looks into folders of size 0 only, so an emptied folder may still show as a common prefix',
      );
    }
    await ctx.client.deleteEntries([f.id], true);
  },
};

/** Every probe, in the order they run. */
export const PROBES: readonly Probe[] = [
  sameName,
  rootListing,
  entryJson,
  shortNames,
  download,
  rateLimit,
  deleteDefault,
  pagination,
  emptyFiles,
  exactNames,
  folderSize,
];

/** Runs one probe; an exception makes it ERROR with what was seen so far. */
export async function runProbe(probe: Probe, ctx: ProbeContext): Promise<ProbeResult> {
  const r = new Finding();
  try {
    await probe.run(ctx, r);
  } catch (err) {
    r.status = 'ERROR';
    r.detail.push(`failed: ${errorText(err)}`);
  }
  return { id: probe.id, title: probe.title, status: r.status, detail: r.detail };
}
