/**
 * Server metrics in the Prometheus text exposition format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/), served at `GET /_s3local/metrics`.
 * Counters live in memory and start at zero with the process; the per-bucket figures come from the
 * backend's index (StorageBackend.stats), cached for a few seconds so frequent scrapes stay cheap.
 */
import type { BackendStats } from '../storage/backend.js';
import { VERSION } from '../version.js';

/** Latency histogram bucket bounds, in seconds: from a HEAD on a warm cache to a multi-GiB PUT. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

/** The content type of the exposition format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

/** Escapes a label value: backslash, double quote and line feed (exposition format rules). */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
  const parts = Object.entries(pairs).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function num(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

/** What a timeout cut: a request whose headers never completed, or a body that stopped arriving. */
export type TimeoutPhase = 'headers' | 'body';

/** The counters and gauges of one server. */
export class ServerMetrics {
  /** Requests being handled now. */
  inFlight = 0;
  /** Open client connections. */
  connections = 0;
  /** Connections answered 503 SlowDown because `maxConnections` were open. */
  connectionsRejected = 0;
  readonly #startSeconds = Date.now() / 1000;
  readonly #requests = new Map<string, number>();
  readonly #bytesIn = new Map<string, number>();
  readonly #bytesOut = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();
  readonly #timeouts: Record<TimeoutPhase, number> = { headers: 0, body: 0 };
  readonly #clientErrors = new Map<string, number>();

  /** Records one finished request. */
  observe(operation: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    const key = `${operation}\0${status}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    this.#bytesIn.set(operation, (this.#bytesIn.get(operation) ?? 0) + bytesIn);
    this.#bytesOut.set(operation, (this.#bytesOut.get(operation) ?? 0) + bytesOut);
    let h = this.#latency.get(operation);
    if (h === undefined) {
      h = { counts: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#latency.set(operation, h);
    }
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (seconds <= LATENCY_BUCKETS[i]!) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  /** Records a slow client cut by a timeout. */
  timedOut(phase: TimeoutPhase): void {
    this.#timeouts[phase]++;
  }

  /** Records an HTTP parse error answered before any request existed (e.g. headers too large). */
  clientError(code: string): void {
    this.#clientErrors.set(code, (this.#clientErrors.get(code) ?? 0) + 1);
  }

  /** The exposition text: server counters, then `stats` (per bucket) when the backend gave them. */
  render(info: { backend: string }, stats?: BackendStats): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    family('s3local_info', 'gauge', 'Version and storage backend of this server (always 1).');
    out.push(`s3local_info${labels({ version: VERSION, backend: info.backend })} 1`);
    family('s3local_start_time_seconds', 'gauge', 'Start time of the server, in seconds since the epoch.');
    out.push(`s3local_start_time_seconds ${num(this.#startSeconds)}`);

    family('s3local_requests_total', 'counter', 'Requests answered, by S3 operation and HTTP status.');
    for (const [key, n] of [...this.#requests].sort()) {
      const [operation = '', status = ''] = key.split('\0');
      out.push(`s3local_requests_total${labels({ operation, status })} ${n}`);
    }
    family(
      's3local_received_bytes_total',
      'counter',
      'Bytes received from clients (request line, headers and body), by operation.',
    );
    for (const [operation, n] of [...this.#bytesIn].sort())
      out.push(`s3local_received_bytes_total${labels({ operation })} ${n}`);
    family(
      's3local_sent_bytes_total',
      'counter',
      'Bytes sent to clients (status line, headers and body), by operation.',
    );
    for (const [operation, n] of [...this.#bytesOut].sort())
      out.push(`s3local_sent_bytes_total${labels({ operation })} ${n}`);

    family(
      's3local_request_duration_seconds',
      'histogram',
      'Time from the arrival of a request to the end of its response, by operation.',
    );
    for (const [operation, h] of [...this.#latency].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      LATENCY_BUCKETS.forEach((le, i) => {
        out.push(
          `s3local_request_duration_seconds_bucket${labels({ operation, le: num(le) })} ${h.counts[i]}`,
        );
      });
      out.push(`s3local_request_duration_seconds_bucket${labels({ operation, le: '+Inf' })} ${h.count}`);
      out.push(`s3local_request_duration_seconds_sum${labels({ operation })} ${num(h.sum)}`);
      out.push(`s3local_request_duration_seconds_count${labels({ operation })} ${h.count}`);
    }

    family('s3local_requests_in_flight', 'gauge', 'Requests being handled now.');
    out.push(`s3local_requests_in_flight ${this.inFlight}`);
    family('s3local_connections_open', 'gauge', 'Open client connections.');
    out.push(`s3local_connections_open ${this.connections}`);
    family(
      's3local_connections_rejected_total',
      'counter',
      'Connections answered 503 SlowDown because the connection limit was reached.',
    );
    out.push(`s3local_connections_rejected_total ${this.connectionsRejected}`);
    family('s3local_request_timeouts_total', 'counter', 'Slow clients cut by a timeout, by phase.');
    for (const phase of ['body', 'headers'] as const)
      out.push(`s3local_request_timeouts_total${labels({ phase })} ${this.#timeouts[phase]}`);
    family(
      's3local_client_errors_total',
      'counter',
      'Malformed or oversized requests refused before routing, by parser error code.',
    );
    for (const [code, n] of [...this.#clientErrors].sort())
      out.push(`s3local_client_errors_total${labels({ code })} ${n}`);

    if (stats !== undefined) {
      family('s3local_bucket_objects', 'gauge', 'Objects stored, by bucket (from the index).');
      for (const b of stats.buckets)
        out.push(`s3local_bucket_objects${labels({ bucket: b.name })} ${b.objects}`);
      family('s3local_bucket_bytes', 'gauge', 'Bytes stored, by bucket (from the index).');
      for (const b of stats.buckets) out.push(`s3local_bucket_bytes${labels({ bucket: b.name })} ${b.bytes}`);
      if (stats.multipartUploads !== undefined) {
        family(
          's3local_multipart_uploads_open',
          'gauge',
          'Multipart uploads created and not yet completed or aborted.',
        );
        out.push(`s3local_multipart_uploads_open ${stats.multipartUploads}`);
      }
    }

    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.');
    out.push(`process_resident_memory_bytes ${mem.rss}`);
    family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.');
    out.push(`process_cpu_seconds_total ${num((cpu.user + cpu.system) / 1e6)}`);
    family('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use, in bytes.');
    out.push(`nodejs_heap_used_bytes ${mem.heapUsed}`);
    return out.join('\n') + '\n';
  }
}

/** A parsed sample of the exposition format (for tests and tools). */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses exposition text into samples (comments skipped). Throws on a malformed line. */
export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`malformed metrics line: ${line}`);
    const lbls: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
    let consumed = 0;
    for (let lm = re.exec(body); lm !== null; lm = re.exec(body)) {
      lbls[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
      consumed = re.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`malformed labels: ${line}`);
    const raw = m[3]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`malformed value: ${line}`);
    samples.push({ name: m[1]!, labels: lbls, value });
  }
  return samples;
}
