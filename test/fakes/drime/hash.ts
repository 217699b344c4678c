/**
 * BeDrive's `HashesId` encoding of entry ids (drime-api.md §2.1): base64 of the id followed by
 * `|`, right-padded with the cycled string "padding" to 10 characters, without `=` padding.
 */

/** PHP `str_pad($s, 10, 'padding')` (STR_PAD_RIGHT). */
function padRight(s: string, length: number, pad: string): string {
  let out = s;
  let i = 0;
  while (out.length < length) {
    out += pad[i % pad.length];
    i++;
  }
  return out;
}

/** The `hash` field of an entry id. */
export function encodeEntryHash(id: number): string {
  return Buffer.from(padRight(`${id}|`, 10, 'padding'), 'utf8')
    .toString('base64')
    .replace(/=+$/, '');
}

/** The id a hash encodes, or undefined when it does not decode to `<digits>|...`. */
export function decodeEntryHash(hash: string): number | undefined {
  if (!/^[A-Za-z0-9+/]+$/.test(hash)) return undefined;
  const text = Buffer.from(hash, 'base64').toString('utf8');
  const m = /^(\d+)\|/.exec(text);
  if (!m?.[1]) return undefined;
  const id = Number(m[1]);
  return Number.isSafeInteger(id) ? id : undefined;
}
