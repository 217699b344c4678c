/**
 * Request and response documents of versioning and object lock: VersioningConfiguration,
 * ListVersionsResult, ObjectLockConfiguration, Retention, LegalHold (shapes from the S3 API
 * reference pages of each operation).
 */
import { S3Error } from '../errors.js';
import { isoDate, quoteETag } from '../headers.js';
import type {
  DefaultRetention,
  ObjectLockState,
  RetentionMode,
  VersionEntry,
  VersioningStatus,
} from '../../storage/backend.js';
import { OWNER } from './responses.js';
import { parseXmlBody, xmlDocument, xmlDocumentOrdered, type XmlTree } from './xml.js';

/** What a PutBucketVersioning body asks for. */
export interface VersioningRequest {
  status?: VersioningStatus;
  mfaDelete?: 'Enabled' | 'Disabled';
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v.trim() : undefined;
}

/** Parses VersioningConfiguration (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html). */
export function parseVersioningConfiguration(body: Buffer): VersioningRequest {
  const doc = parseXmlBody(body, 'VersioningConfiguration');
  const out: VersioningRequest = {};
  const status = text(doc['Status']);
  if (status !== undefined) {
    if (status !== 'Enabled' && status !== 'Suspended') throw new S3Error('MalformedXML');
    out.status = status;
  }
  const mfa = text(doc['MfaDelete']);
  if (mfa !== undefined) {
    if (mfa !== 'Enabled' && mfa !== 'Disabled') throw new S3Error('MalformedXML');
    out.mfaDelete = mfa;
  }
  return out;
}

/** GetBucketVersioning: no Status while the bucket was never versioned. */
export function versioningXml(status?: VersioningStatus): string {
  return xmlDocument('VersioningConfiguration', { Status: status });
}

/** The parameters echoed in a ListVersionsResult. */
export interface ListVersionsEcho {
  bucket: string;
  prefix: string;
  delimiter: string;
  keyMarker: string;
  versionIdMarker: string;
  maxKeys: number;
  encodingType?: string;
}

/**
 * ListVersionsResult (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html).
 * Version and DeleteMarker elements are interleaved in listing order, as S3 sends them.
 */
export function listVersionsXml(
  echo: ListVersionsEcho,
  page: {
    versions: VersionEntry[];
    commonPrefixes: string[];
    isTruncated: boolean;
    nextKeyMarker?: string;
    nextVersionIdMarker?: string;
  },
  enc: (s: string) => string,
): string {
  const entries: XmlTree[] = page.versions.map((v) => {
    if (v.deleteMarker) {
      return {
        DeleteMarker: {
          Key: enc(v.key),
          VersionId: v.versionId,
          IsLatest: v.isLatest,
          LastModified: isoDate(v.lastModified),
          Owner: OWNER,
        },
      };
    }
    const algs = Object.keys(v.checksums);
    return {
      Version: {
        Key: enc(v.key),
        VersionId: v.versionId,
        IsLatest: v.isLatest,
        LastModified: isoDate(v.lastModified),
        ETag: quoteETag(v.etag),
        ChecksumAlgorithm: algs.length ? algs : undefined,
        ChecksumType: algs.length ? v.checksumType : undefined,
        Size: v.size,
        Owner: OWNER,
        StorageClass: v.storageClass,
      },
    };
  });
  const head: XmlTree = {
    Name: echo.bucket,
    Prefix: enc(echo.prefix),
    KeyMarker: enc(echo.keyMarker),
    VersionIdMarker: echo.versionIdMarker,
    NextKeyMarker: page.nextKeyMarker === undefined ? undefined : enc(page.nextKeyMarker),
    NextVersionIdMarker: page.nextVersionIdMarker,
    MaxKeys: echo.maxKeys,
    Delimiter: echo.delimiter === '' ? undefined : enc(echo.delimiter),
    EncodingType: echo.encodingType,
    IsTruncated: page.isTruncated,
  };
  const tail: XmlTree = {
    CommonPrefixes: page.commonPrefixes.length
      ? page.commonPrefixes.map((p) => ({ Prefix: enc(p) }))
      : undefined,
  };
  return xmlDocumentOrdered('ListVersionsResult', [head, ...entries, tail]);
}

const MODES = new Set<string>(['GOVERNANCE', 'COMPLIANCE']);

function parseMode(v: unknown): RetentionMode {
  const mode = text(v);
  if (mode === undefined || !MODES.has(mode)) throw new S3Error('MalformedXML');
  return mode as RetentionMode;
}

/** A positive whole number of days or years (InvalidArgument otherwise, as S3 answers). */
function parsePeriod(v: unknown, name: string): number {
  const raw = text(v) ?? '';
  const n = /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(n > 0)) {
    throw new S3Error('InvalidArgument', 'Default retention period must be a positive integer value', {
      ArgumentName: name,
      ArgumentValue: raw,
    });
  }
  return n;
}

/**
 * Parses ObjectLockConfiguration (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html):
 * `ObjectLockEnabled` must be `Enabled`; an optional Rule with a DefaultRetention of Mode and
 * exactly one of Days or Years.
 */
export function parseObjectLockConfiguration(body: Buffer): { defaultRetention?: DefaultRetention } {
  const doc = parseXmlBody(body, 'ObjectLockConfiguration');
  if (text(doc['ObjectLockEnabled']) !== 'Enabled') throw new S3Error('MalformedXML');
  const rule = doc['Rule'];
  if (rule === undefined) return {};
  const retention = (rule as Record<string, unknown>)['DefaultRetention'];
  if (typeof retention !== 'object' || retention === null) throw new S3Error('MalformedXML');
  const r = retention as Record<string, unknown>;
  const mode = parseMode(r['Mode']);
  const hasDays = r['Days'] !== undefined;
  const hasYears = r['Years'] !== undefined;
  if (hasDays === hasYears) throw new S3Error('MalformedXML');
  return {
    defaultRetention: hasDays
      ? { mode, days: parsePeriod(r['Days'], 'Days') }
      : { mode, years: parsePeriod(r['Years'], 'Years') },
  };
}

/** GetObjectLockConfiguration. */
export function objectLockConfigurationXml(defaultRetention: DefaultRetention | undefined): string {
  const body: XmlTree = { ObjectLockEnabled: 'Enabled' };
  if (defaultRetention !== undefined) {
    body['Rule'] = {
      DefaultRetention: {
        Mode: defaultRetention.mode,
        Days: defaultRetention.days,
        Years: defaultRetention.years,
      },
    };
  }
  return xmlDocument('ObjectLockConfiguration', body);
}

/** Parses an ISO 8601 timestamp of a retain-until date (InvalidArgument otherwise). */
export function parseRetainUntil(raw: string | undefined): Date {
  const d = raw !== undefined && /^\d{4}-\d\d-\d\dT/.test(raw) ? new Date(raw) : undefined;
  if (d === undefined || Number.isNaN(d.getTime())) {
    throw new S3Error('InvalidArgument', 'The retain until date must be provided in ISO 8601 format', {
      ArgumentName: 'RetainUntilDate',
      ArgumentValue: raw ?? '',
    });
  }
  return d;
}

/**
 * Parses Retention (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html).
 * An empty document (no Mode, no date) removes the retention.
 */
export function parseRetention(body: Buffer): { mode: RetentionMode; retainUntil: Date } | undefined {
  const doc = parseXmlBody(body, 'Retention');
  const mode = doc['Mode'];
  const until = doc['RetainUntilDate'];
  if (mode === undefined && until === undefined) return undefined;
  if (mode === undefined || until === undefined) throw new S3Error('MalformedXML');
  return { mode: parseMode(mode), retainUntil: parseRetainUntil(text(until)) };
}

/** GetObjectRetention. */
export function retentionXml(lock: ObjectLockState): string {
  return xmlDocument('Retention', {
    Mode: lock.mode,
    RetainUntilDate: lock.retainUntil ? isoDate(lock.retainUntil) : undefined,
  });
}

/** Parses LegalHold (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLegalHold.html). */
export function parseLegalHold(body: Buffer): boolean {
  const status = text(parseXmlBody(body, 'LegalHold')['Status']);
  if (status !== 'ON' && status !== 'OFF') throw new S3Error('MalformedXML');
  return status === 'ON';
}

/** GetObjectLegalHold. */
export function legalHoldXml(on: boolean): string {
  return xmlDocument('LegalHold', { Status: on ? 'ON' : 'OFF' });
}
