/**
 * A small multipart/form-data parser for the fake's `POST /uploads` (the fake buffers request
 * bodies; it is test code).
 */

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

function param(header: string, key: string): string | undefined {
  // filename*=UTF-8''percent-encoded wins over filename="..." (RFC 7578 §4.2 / RFC 5987).
  const star = new RegExp(`;\\s*${key}\\*=([^;]+)`, 'i').exec(header);
  if (star?.[1]) {
    const m = /^UTF-8''(.*)$/i.exec(star[1].trim());
    if (m?.[1] !== undefined) return decodeURIComponent(m[1]);
  }
  const quoted = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(header);
  if (quoted?.[1] !== undefined) return quoted[1].replace(/\\(.)/g, '$1');
  const bare = new RegExp(`;\\s*${key}=([^;\\s]+)`, 'i').exec(header);
  return bare?.[1];
}

/** Parses a buffered multipart/form-data body; throws on malformed input. */
export function parseFormData(body: Buffer, contentType: string): FormPart[] {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = boundary?.[1] ?? boundary?.[2];
  if (!b) throw new Error('multipart boundary missing');
  const delim = Buffer.from(`--${b}`);
  const parts: FormPart[] = [];
  let pos = body.indexOf(delim);
  if (pos < 0) throw new Error('no multipart delimiter');
  for (;;) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    if (body.subarray(pos, pos + 2).toString() !== '\r\n') throw new Error('bad delimiter line');
    pos += 2;
    const headEnd = body.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) throw new Error('part headers not terminated');
    const headers = body.subarray(pos, headEnd).toString('utf8').split('\r\n');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headEnd + 4);
    if (next < 0) throw new Error('part not terminated');
    const data = body.subarray(headEnd + 4, next);
    let disposition = '';
    let ctype: string | undefined;
    for (const h of headers) {
      const i = h.indexOf(':');
      const name = h.slice(0, i).trim().toLowerCase();
      const value = h.slice(i + 1).trim();
      if (name === 'content-disposition') disposition = value;
      else if (name === 'content-type') ctype = value;
    }
    const fieldName = param(disposition, 'name');
    if (fieldName === undefined) throw new Error('part without a name');
    const part: FormPart = { name: fieldName, data };
    const filename = param(disposition, 'filename');
    if (filename !== undefined) part.filename = filename;
    if (ctype !== undefined) part.contentType = ctype;
    parts.push(part);
    pos = next + 2;
  }
  return parts;
}
