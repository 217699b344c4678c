/**
 * Shared parts of the kill -9 crash loops (crash.test.ts, versioning-crash.test.ts): a seeded PRNG,
 * a REAL `s3local serve` child process started and SIGKILLed (never spawnSync), a CLI command run
 * as a child (`s3local cache rebuild`), and a plain node:http driver whose request bodies are sent
 * in two halves so a kill can land mid-body.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { CLI } from '../helpers/serve-process.js';

/** MD5 of `data`, lower-case hex (the ETag of a single PUT). */
export function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** MD5 of `data`, base64 (a Content-MD5 header). */
export function contentMd5(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

/** The ETag of a multipart object made of `parts`: MD5 of the parts' binary MD5s, `-N`. */
export function multipartEtag(parts: readonly Buffer[]): string {
  const h = createHash('md5');
  for (const p of parts) h.update(createHash('md5').update(p).digest());
  return `${h.digest('hex')}-${parts.length}`;
}

/** A seeded PRNG (mulberry32), so a failing run can be replayed with the printed seed. */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the server process --------------------------------------------------------------------

/** A running `s3local serve` child and the port it listens on. */
export interface Server {
  child: ChildProcess;
  port: number;
}

/**
 * Spawns `s3local serve --path DIR --listen 127.0.0.1:0 --no-auth ...extraArgs` with HOME under
 * `home`; `ready` resolves with the port once the banner is printed (deadline 20 s).
 */
export function spawnServer(
  dir: string,
  home: string,
  extraArgs: readonly string[] = [],
): { child: ChildProcess; ready: Promise<number> } {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--path', dir, '--listen', '127.0.0.1:0', '--no-auth', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(home) },
  );
  let out = '';
  let err = '';
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 20 s:\n${out}\n${err}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^endpoint = http:\/\/127\.0\.0\.1:(\d+)$/m.exec(out);
      if (m?.[1] && out.includes('Press Ctrl+C')) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${signal ?? code}) before it was ready:\n${out}\n${err}`));
    });
  });
  ready.catch(() => undefined);
  return { child, ready };
}

/** The environment of a child s3local: PATH, and HOME and the XDG directories under `home`. */
function childEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local/share'),
  };
}

/** How a CLI child ended. */
export interface CliRun {
  /** Exit code; null when killed. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `s3local ...args` as a child process (never spawnSync) with HOME under `home`, deadline
 * 60 s; with `killAfterMs`, SIGKILLs it after that long if it still runs (code null then).
 */
export function runCli(args: readonly string[], home: string, killAfterMs?: number): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(home),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`s3local ${args.join(' ')} did not end in 60 s:\n${stdout}\n${stderr}`));
    }, 60_000);
    const early =
      killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(deadline);
      if (early !== undefined) clearTimeout(early);
      resolve({ code, stdout, stderr });
    });
  });
}

/** SIGKILLs `child` (if still running) and resolves once it has exited. */
export function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Starts the server; with `interruptAfterMs`, first kills a start in the middle of its recovery. */
export async function start(
  dir: string,
  home: string,
  interruptAfterMs?: number,
  extraArgs: readonly string[] = [],
): Promise<Server> {
  if (interruptAfterMs !== undefined) {
    const early = spawnServer(dir, home, extraArgs);
    await new Promise((r) => setTimeout(r, interruptAfterMs));
    await killed(early.child);
  }
  const s = spawnServer(dir, home, extraArgs);
  return { child: s.child, port: await s.ready };
}

// ---- the HTTP driver -----------------------------------------------------------------------

/** A key as a URL path: each '/'-separated segment percent-encoded. */
export function encodeKey(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

/** A response: status, headers, and the body as text and as bytes. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  bytes: Buffer;
}

/** One request over `agent` (15 s deadline); a body is written in two halves 1 ms apart. */
export function send(
  agent: Agent,
  port: number,
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers: { ...headers, 'content-length': String(body?.length ?? 0) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString(), bytes });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (body && body.length > 0) {
      // Two writes with a pause between: the kill may land mid-body too.
      const cut = Math.floor(body.length / 2);
      req.write(body.subarray(0, cut));
      setTimeout(() => req.end(body.subarray(cut)), 1);
    } else {
      req.end();
    }
  });
}

/** The first value of response header `name` (lower case). */
export function headerOf(res: Reply, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const XML_ENTITIES: Record<string, string> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };

/** The text of the first `<name>` element of `xml`, entities decoded (a regex read, no parser). */
export function xmlField(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m?.[1]?.replace(
    /&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-fA-F]+));/g,
    (e, n: string, dec?: string, hex?: string) => {
      if (dec !== undefined) return String.fromCodePoint(Number(dec));
      if (hex !== undefined) return String.fromCodePoint(parseInt(hex, 16));
      return XML_ENTITIES[n] ?? e;
    },
  );
}

/** Every regular file below `dir`, as '/'-separated paths relative to it. */
export async function walk(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await walk(join(dir, e.name), r)));
    else out.push(r);
  }
  return out;
}

/**
 * Runs `workers` loops of `op` until `stopped()`; each completed op calls `done()`. A request cut
 * by the kill ends its worker quietly; an assertion failure, or any error while not stopped, fails.
 */
export function runWorkers(
  workers: number,
  op: () => Promise<void>,
  stopped: () => boolean,
  done: () => void,
): Promise<void> {
  const worker = async (): Promise<void> => {
    while (!stopped()) {
      try {
        await op();
        done();
      } catch (err) {
        if (err instanceof assert.AssertionError || !stopped()) throw err;
        return; // cut by the kill
      }
      await new Promise((r) => setImmediate(r));
    }
  };
  return Promise.all(Array.from({ length: workers }, worker)).then(() => undefined);
}
