/**
 * Request time parsing and the clock-skew rule shared by every signature version.
 */
import { S3Error } from '../s3/errors.js';

/** S3 accepts requests whose time is within 15 minutes of the server's clock. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

/** Parses the ISO 8601 basic format of SigV4 (`20130524T000000Z`); undefined when malformed. */
export function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const date = new Date(t);
  if (
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== mo - 1 ||
    date.getUTCDate() !== d ||
    date.getUTCHours() !== h ||
    date.getUTCMinutes() !== mi ||
    date.getUTCSeconds() !== s
  ) {
    return undefined;
  }
  return date;
}

/** Parses an HTTP date (RFC 7231 IMF-fixdate and the obsolete forms V8 understands). */
export function parseHttpDate(value: string): Date | undefined {
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/** Parses either form: SigV4's basic ISO 8601 first, then an HTTP date. */
export function parseAnyDate(value: string): Date | undefined {
  return parseAmzDate(value.trim()) ?? parseHttpDate(value);
}

/** `20130524T000000Z` */
export function formatAmzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** `2013-05-24T00:00:00Z`, the form AWS uses for ServerTime and Expires in error bodies. */
export function formatIsoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Throws RequestTimeTooSkewed when `requestTime` is more than 15 minutes away from `now`.
 * `rawRequestTime` is echoed in the error as AWS does.
 */
export function checkSkew(requestTime: Date, rawRequestTime: string, now: Date): void {
  if (Math.abs(now.getTime() - requestTime.getTime()) > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', undefined, {
      RequestTime: rawRequestTime,
      ServerTime: formatIsoSeconds(now),
      MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
    });
  }
}
