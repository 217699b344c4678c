/**
 * Redaction for debug logs: secrets and signatures never reach a log line in clear.
 */

/** Keeps the first 4 characters of a value (enough to tell keys apart) and hides the rest. */
export function redact(value: string | undefined | null): string {
  if (value === undefined || value === null || value === '') return '';
  if (value.length <= 8) return '***';
  return `${value.slice(0, 4)}***`;
}

/**
 * An Authorization header with its signature (SigV4 `Signature=...`, SigV2 `AKID:sig`) hidden;
 * the credential scope stays readable for debugging.
 */
export function redactAuthorization(header: string | undefined): string {
  if (header === undefined) return '';
  if (header.startsWith('AWS4-')) return header.replace(/Signature\s*=\s*[0-9a-fA-F]*/, 'Signature=***');
  if (header.startsWith('AWS ')) return header.replace(/:[^:]*$/, ':***');
  return '***';
}

/** Query parameters that carry signatures or tokens, hidden by redactUrl. */
const SECRET_PARAMS = /^(X-Amz-Signature|Signature|X-Amz-Security-Token)$/i;

/** A request-target with signature parameters hidden (for access logs of presigned URLs). */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const key = eq < 0 ? part : part.slice(0, eq);
      return eq >= 0 && SECRET_PARAMS.test(key) ? `${key}=***` : part;
    })
    .join('&');
  return `${url.slice(0, q)}?${query}`;
}
