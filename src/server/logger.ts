/**
 * A minimal leveled logger writing one line per event to a stream: readable text (for a terminal
 * or the journal) or JSON lines (`--log-format json`, for log shippers). Secrets never reach it:
 * callers log request ids, operations, buckets and keys, never headers or signed URLs.
 */
import type { Writable } from 'node:stream';
import { formatAccessText, type AccessEntry } from './access-log.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

/** Every level, least severe first. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
/** Every log format. */
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /**
   * One access-log line (info level). Optional: the server falls back to `info('request', entry)`
   * for loggers without it.
   */
  access?(entry: AccessEntry): void;
}

function textValue(v: unknown): string {
  if (typeof v === 'string') return /^[\w./:@+-]*$/.test(v) && v !== '' ? v : JSON.stringify(v);
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

function textFields(fields: Record<string, unknown> | undefined): string {
  if (!fields) return '';
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out += ` ${k}=${textValue(v)}`;
  }
  return out;
}

/**
 * A logger printing events at or above `level` to `out`.
 *
 * - `text`: `2025-01-31T12:00:00.000Z INFO  message key=value ...`; access lines are laid out for
 *   reading (status, operation, bucket/key, sizes, duration, client, request id).
 * - `json`: one JSON object per line: `{"time":..., "level":..., "msg":..., ...fields}`.
 */
export function createLogger(out: Writable, level: LogLevel, format: LogFormat = 'text'): Logger {
  const min = LEVELS[level];
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[lvl] < min) return;
    const time = new Date().toISOString();
    if (format === 'json') {
      out.write(JSON.stringify({ time, level: lvl, msg, ...fields }) + '\n');
    } else {
      out.write(`${time} ${lvl.toUpperCase().padEnd(5)} ${msg}${textFields(fields)}\n`);
    }
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    access(entry) {
      if (LEVELS.info < min) return;
      if (format === 'json') {
        out.write(JSON.stringify({ level: 'info', msg: 'request', ...entry }) + '\n');
      } else {
        out.write(`${entry.time} ${'INFO'.padEnd(5)} ${formatAccessText(entry)}\n`);
      }
    },
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, access() {} };
