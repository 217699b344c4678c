/**
 * Helpers of the service tests (TLS, health, metrics, logs, limits): certificates made with the
 * machine's openssl, a log sink, a metrics scraper, raw sockets for slow clients, tmpfs mounts.
 * Every external command runs asynchronously (runClient): the servers live in this process.
 */
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseMetrics, type MetricSample } from '../../src/index.js';
import { hasCommand, runClient } from '../helpers/clients.js';

/** A self-signed certificate for 127.0.0.1 and localhost, and its key (PEM files). */
export interface TestCert {
  cert: string;
  key: string;
}

/** `{ skip }` for node:test when openssl is missing (loudly), else a timeout only. */
export function opensslTestOptions(): { skip?: string; timeout: number } {
  if (hasCommand('openssl')) return { timeout: 300_000 };
  const reason = 'openssl is not installed: install it (apt-get install openssl) to run the HTTPS tests';
  process.stderr.write(`\n*** SKIPPING: ${reason} ***\n\n`);
  return { skip: reason, timeout: 300_000 };
}

/** Makes a self-signed certificate with `openssl req -x509` (EC P-256: fast to generate). */
export async function makeCert(dir: string, name: string, cn = '127.0.0.1'): Promise<TestCert> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const r = await runClient(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    process.env,
    60_000,
  );
  if (r.code !== 0) throw new Error(`openssl failed (${r.code}): ${r.err}`);
  return { cert, key };
}

/** A Writable collecting log lines. */
export class LogSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
  lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }
  /** JSON lines parsed (throws on a line that is not JSON). */
  json(): Record<string, unknown>[] {
    return this.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/** Polls `check` every 20 ms until it returns true; throws after `deadlineMs`. */
export async function waitFor(what: string, check: () => boolean, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface SimpleResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One GET (or HEAD) with optional headers, over http or https (`agent` for a CA); deadline 15 s. */
export function get(
  url: string,
  opts: { headers?: Record<string, string>; agent?: HttpsAgent; method?: string } = {},
): Promise<SimpleResponse> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        method: opts.method ?? 'GET',
        headers: opts.headers ?? {},
        ...(opts.agent ? { agent: opts.agent } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** HTTP Basic credentials header. */
export function basic(id: string, secret: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` };
}

/** Scrapes and parses the metrics. */
export async function scrape(
  endpoint: string,
  headers: Record<string, string> = {},
): Promise<MetricSample[]> {
  const res = await get(`${endpoint}/_s3local/metrics`, { headers });
  if (res.status !== 200) throw new Error(`metrics answered ${res.status}: ${res.text}`);
  return parseMetrics(res.text);
}

/** The value of the sample `name` whose labels include `labels` (0 when absent). */
export function sample(samples: MetricSample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found?.value ?? 0;
}

/** A raw TCP connection to the server, collecting what it answers and when it closes. */
export interface RawConn {
  socket: Socket;
  received(): string;
  closed: Promise<void>;
  isClosed(): boolean;
}

export function rawConnect(port: number): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let isClosed = false;
    const closed = new Promise<void>((r) =>
      socket.on('close', () => {
        isClosed = true;
        r();
      }),
    );
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => data, closed, isClosed: () => isClosed }));
    socket.once('error', reject);
  });
}

/** True when this process may mount a tmpfs (root with CAP_SYS_ADMIN, mount(8) present). */
export async function canMount(dir: string): Promise<boolean> {
  if (!hasCommand('mount') || process.getuid?.() !== 0) return false;
  const r = await runClient('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], process.env, 20_000);
  if (r.code !== 0) return false;
  await runClient('umount', [dir], process.env, 20_000);
  return true;
}

/** Runs mount/umount; throws with its stderr on failure. */
export async function mountCmd(args: string[]): Promise<void> {
  const r = await runClient(args[0] === 'umount' ? 'umount' : 'mount', args.slice(1), process.env, 20_000);
  if (r.code !== 0) throw new Error(`${args.join(' ')} failed: ${r.err}`);
}
