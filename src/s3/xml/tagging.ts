/**
 * The `Tagging` document of GetObjectTagging and PutObjectTagging
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html):
 * `<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>`.
 */
import { S3Error } from '../errors.js';
import type { ObjectTag } from '../../storage/backend.js';
import { parseXmlBody, xmlDocument } from './xml.js';

/** GetObjectTagging's answer: the tags in their stored order (an empty TagSet when none). */
export function taggingXml(tags: readonly ObjectTag[]): string {
  return xmlDocument('Tagging', {
    TagSet: tags.length === 0 ? '' : { Tag: tags.map((t) => ({ Key: t.key, Value: t.value })) },
  });
}

/**
 * The tags of a PutObjectTagging body, not yet validated against the limits. MalformedXML for a
 * document without `TagSet`, a `Tag` without `Key` or `Value`, or an element holding the wrong
 * content; keys and values are kept exactly (no trimming: they are case- and space-sensitive).
 */
export function parseTagging(body: Buffer): ObjectTag[] {
  const doc = parseXmlBody(body, 'Tagging');
  const tagSet = doc['TagSet'];
  if (tagSet === undefined) throw new S3Error('MalformedXML');
  if (tagSet === '') return [];
  if (typeof tagSet !== 'object' || tagSet === null || Array.isArray(tagSet))
    throw new S3Error('MalformedXML');
  const raw = (tagSet as Record<string, unknown>)['Tag'];
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  return list.map((node) => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) throw new S3Error('MalformedXML');
    const key = (node as Record<string, unknown>)['Key'];
    const value = (node as Record<string, unknown>)['Value'];
    if (typeof key !== 'string' || typeof value !== 'string') throw new S3Error('MalformedXML');
    return { key, value };
  });
}
