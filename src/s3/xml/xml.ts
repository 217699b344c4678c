/**
 * XML plumbing over fast-xml-parser: one builder for responses, one strict parser for request bodies.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from '../errors.js';

/** The S3 namespace of every response document. */
export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: false,
  processEntities: true,
});

/** An element tree: string/number leaves, nested objects, arrays for repeated elements. */
export type XmlNode = string | number | boolean | XmlTree | XmlNode[];
export interface XmlTree {
  [name: string]: XmlNode | undefined;
}

/** Serialises `<root xmlns=S3>…</root>` with the XML declaration. Undefined members are omitted. */
export function xmlDocument(root: string, body: XmlTree, namespace: string | null = S3_NS): string {
  const tree: XmlTree = namespace ? { '@_xmlns': namespace, ...body } : body;
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + builder.build({ [root]: prune(tree) });
}

/**
 * Like {@link xmlDocument}, for documents whose children must keep an order that one object
 * cannot express (different elements interleaved, e.g. Version and DeleteMarker): each part is
 * serialised in turn, in the order given.
 */
export function xmlDocumentOrdered(root: string, parts: XmlTree[], namespace: string = S3_NS): string {
  const children = parts.map((part) => builder.build(prune(part))).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${namespace}">${children}</${root}>`;
}

function prune(node: XmlNode): XmlNode {
  if (Array.isArray(node)) return node.map(prune);
  if (typeof node !== 'object') return String(node);
  const out: XmlTree = {};
  for (const [k, v] of Object.entries(node)) if (v !== undefined) out[k] = prune(v);
  return out;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  // Numeric character references too: Go's encoding/xml (rclone, restic) escapes `"` in ETags
  // and keys as `&#34;`. (This option also enables HTML's named entities, which XMLValidator has
  // already refused as undefined entities.)
  htmlEntities: true,
  isArray: (name) => ['Object', 'Part'].includes(name),
});

/**
 * Parses a request body, answering MalformedXML for anything that is not well-formed XML with the
 * expected root element. Entities beyond the XML built-ins are not expanded (no XXE).
 */
export function parseXmlBody(body: Buffer, root: string): Record<string, unknown> {
  const text = body.toString('utf8');
  if (text.trim() === '' || XMLValidator.validate(text) !== true) throw new S3Error('MalformedXML');
  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch {
    throw new S3Error('MalformedXML');
  }
  const node = (doc as Record<string, unknown>)[root];
  if (node === undefined) throw new S3Error('MalformedXML');
  if (node === '' || typeof node !== 'object' || node === null) return {};
  return node as Record<string, unknown>;
}
