/**
 * The saved-backends file, `backends.toml`: one `[name]` table per backend.
 *
 * ```toml
 * [nas]
 * type = "local"
 * path = "/srv/s3data"
 *
 * [cloud]
 * type = "drime"
 * api_key = "<obscured>"       # rclone obscure format and key
 * workspace_id = 0
 * root_folder = "backups/s3"
 * ```
 *
 * Secrets are stored obscured (rclone's format and key, see obscure.ts) and revealed on load; a
 * stored secret that does not reveal is an error naming the backend and the key — never used as is
 * (pys3local silently used the raw text, §7.1). Unknown keys and tables are kept. When the file is
 * rewritten, the text of every table that did not change (comments included) is kept verbatim.
 */
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { parse, stringify, type TomlTable, type TomlValue } from 'smol-toml';
import { writeFileAtomic } from './atomic-file.js';
import { obscure, reveal } from './obscure.js';
import { SERVE_OPTIONS } from './options.js';

/** Backend types a saved backend may have. */
export const BACKEND_TYPES = ['local', 'drime'] as const;
export type BackendType = (typeof BACKEND_TYPES)[number];

/** Allowed backend names: no path separators, no leading dot or dash. */
export const BACKEND_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const MAX_NAME_LENGTH = 64;

/**
 * Keys stored obscured: every secret option of the option table (by its config key), plus the
 * names pys3local treated as secret.
 */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  ...SERVE_OPTIONS.flatMap((o) => (o.secret === true && o.configKey !== undefined ? [o.configKey] : [])),
  'api_key',
  'secret_access_key',
  'password',
]);

/** A problem with backends.toml or a backend in it; the message is meant for the user. */
export class BackendsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendsFileError';
  }
}

/** One saved backend, secrets in clear. */
export interface BackendConfig {
  name: string;
  /** `type` of the table; a table without one is a local backend (as in pys3local). */
  type: string;
  /** Every other key of the table, unknown ones included; secrets revealed. */
  values: Record<string, TomlValue>;
}

/** Returns why `name` is not a valid backend name, or undefined when it is. */
export function backendNameProblem(name: string): string | undefined {
  if (name === '') return 'Backend name cannot be empty';
  if (name.length > MAX_NAME_LENGTH) return `Backend name is longer than ${MAX_NAME_LENGTH} characters`;
  if (!BACKEND_NAME_PATTERN.test(name)) {
    return 'Backend name must start with a letter or digit and contain only letters, digits, "_", "." and "-"';
  }
  return undefined;
}

const HEADER =
  '# s3local saved backends: one [name] table per backend (see `s3local config`).\n' +
  "# Secrets are obscured with rclone's obscure (obfuscation, not encryption): use `s3local obscure`.\n\n";

const PARSE_OPTIONS = { integersAsBigInt: 'asNeeded' } as const;

function isTable(v: TomlValue | undefined): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Decodes the first key of a `[table]` / `[[array]]` header line, or undefined. */
function headerName(line: string): string | undefined {
  const m = /^[ \t]*\[\[?[ \t]*([A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')/.exec(line);
  if (m?.[1] === undefined) return undefined;
  const key = m[1];
  if (!key.startsWith('"') && !key.startsWith("'")) return key;
  try {
    const v = parse(`k = ${key}`).k;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

function ensureBreak(out: string, blankLine: boolean): string {
  if (out === '') return out;
  if (!out.endsWith('\n')) out += '\n';
  if (blankLine && !out.endsWith('\n\n')) out += '\n';
  return out;
}

/** A loaded backends.toml. Mutations stay in memory until {@link BackendsFile.save}. */
export class BackendsFile {
  private readonly dirty = new Set<string>();

  private constructor(
    /** Path of the file (it may not exist yet). */
    readonly path: string,
    private originalText: string | undefined,
    private readonly data: TomlTable,
  ) {}

  /** Reads `path`; a missing file is an empty set of backends. */
  static async load(path: string): Promise<BackendsFile> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new BackendsFile(path, undefined, {});
      throw new BackendsFileError(`Cannot read ${path}: ${(err as Error).message}`);
    }
    return BackendsFile.fromText(path, text);
  }

  /** Parses `text` as the content of `path`. */
  static fromText(path: string, text: string): BackendsFile {
    let data: TomlTable;
    try {
      data = parse(text, PARSE_OPTIONS);
    } catch (err) {
      throw new BackendsFileError(`Cannot parse ${path}: ${(err as Error).message}`);
    }
    return new BackendsFile(path, text, data);
  }

  /** Backend names (the top-level tables), in file order. */
  names(): string[] {
    return Object.keys(this.data).filter((k) => isTable(this.data[k]));
  }

  has(name: string): boolean {
    return Object.hasOwn(this.data, name) && isTable(this.data[name]);
  }

  /** The backend's type without revealing anything (undefined when absent). */
  typeOf(name: string): string | undefined {
    const table = this.table(name);
    if (table === undefined) return undefined;
    const type = table.type;
    return typeof type === 'string' ? type : type === undefined ? 'local' : '(invalid)';
  }

  /** The backend's stored keys except `type`, secrets still obscured (for display). */
  stored(name: string): Record<string, TomlValue> | undefined {
    const table = this.table(name);
    if (table === undefined) return undefined;
    const out: Record<string, TomlValue> = {};
    for (const [key, value] of Object.entries(table)) if (key !== 'type') out[key] = value;
    return out;
  }

  private table(name: string): TomlTable | undefined {
    if (!this.has(name)) return undefined;
    return this.data[name] as TomlTable;
  }

  /**
   * The backend `name` with its secrets revealed.
   *
   * @throws BackendsFileError when it is absent, its type is not a string, or a secret does not
   *   reveal (the message names the backend, the key and the file).
   */
  get(name: string): BackendConfig {
    const table = this.table(name);
    if (table === undefined) throw new BackendsFileError(`Backend '${name}' not found`);
    const type = table.type ?? 'local';
    if (typeof type !== 'string') throw new BackendsFileError(`Backend '${name}': 'type' must be a string`);
    const values: Record<string, TomlValue> = {};
    for (const [key, value] of Object.entries(table)) {
      if (key === 'type') continue;
      values[key] = SECRET_KEYS.has(key) ? this.revealSecret(name, key, value) : value;
    }
    return { name, type, values };
  }

  private revealSecret(name: string, key: string, value: TomlValue): string {
    const where = `Backend '${name}': '${key}' in ${this.path}`;
    if (typeof value !== 'string') throw new BackendsFileError(`${where} must be a string`);
    if (value === '') return '';
    let plain: string;
    try {
      plain = reveal(value);
    } catch (err) {
      throw new BackendsFileError(
        `${where} is not an obscured value (${(err as Error).message}). ` +
          'Secrets must be stored obscured: save the backend with `s3local config`, or obscure the value with `s3local obscure`.',
      );
    }
    // A clear-text value can by chance decode to valid UTF-8; control characters give it away.
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f\ufffd]/.test(plain)) {
      throw new BackendsFileError(
        `${where} does not reveal to text - it looks like a clear-text or damaged value. ` +
          'Obscure it with `s3local obscure`.',
      );
    }
    return plain;
  }

  /**
   * Adds or replaces a backend. Secrets are obscured; `undefined` values are dropped.
   *
   * @throws BackendsFileError for an invalid name or type, or a non-string secret.
   */
  set(config: { name: string; type: BackendType; values: Record<string, TomlValue | undefined> }): void {
    const problem = backendNameProblem(config.name);
    if (problem !== undefined) throw new BackendsFileError(problem);
    if (!(BACKEND_TYPES as readonly string[]).includes(config.type)) {
      throw new BackendsFileError(
        `Unknown backend type '${config.type}' (expected ${BACKEND_TYPES.join(' or ')})`,
      );
    }
    const table: TomlTable = { type: config.type };
    for (const [key, value] of Object.entries(config.values)) {
      if (value === undefined || key === 'type') continue;
      if (SECRET_KEYS.has(key)) {
        if (typeof value !== 'string') throw new BackendsFileError(`'${key}' must be a string`);
        table[key] = value === '' ? '' : obscure(value);
      } else {
        table[key] = value;
      }
    }
    // Object.defineProperty keeps a name like "constructor" an ordinary own property.
    Object.defineProperty(this.data, config.name, {
      value: table,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    this.dirty.add(config.name);
  }

  /** Removes a backend; false when there was none. */
  remove(name: string): boolean {
    if (!this.has(name)) return false;
    delete this.data[name];
    this.dirty.add(name);
    return true;
  }

  /** The file's new text. Unchanged tables keep their original text, comments included. */
  serialize(): string {
    const full = stringify(this.data);
    if (this.originalText === undefined) return HEADER + full;
    if (this.dirty.size === 0) return this.originalText;
    const composed = this.compose(this.originalText);
    // Keep the comment-preserving text only when it means exactly the same data; anything exotic
    // (tables defined by dotted keys, headers inside multi-line strings…) falls back to a plain dump.
    try {
      if (isDeepStrictEqual(parse(composed, PARSE_OPTIONS), parse(full, PARSE_OPTIONS))) return composed;
    } catch {
      // fall through
    }
    return full;
  }

  private compose(text: string): string {
    const lines = text.split(/(?<=\n)/);
    const headers: { line: number; start: number; name: string | undefined }[] = [];
    for (let i = 0; i < lines.length; i++) {
      const name = headerName(lines[i] ?? '');
      if (name === undefined) continue;
      // Comment lines right above a header describe that table: they move with it.
      let start = i;
      const floor = headers.length > 0 ? headers[headers.length - 1]!.line + 1 : 0;
      while (start > floor && /^[ \t]*#/.test(lines[start - 1] ?? '')) start--;
      headers.push({ line: i, start, name });
    }
    let out = lines.slice(0, headers[0]?.start ?? lines.length).join('');
    const seen = new Set<string>();
    headers.forEach((h, idx) => {
      const segment = lines.slice(h.start, headers[idx + 1]?.start ?? lines.length).join('');
      const name = h.name ?? '';
      const first = !seen.has(name);
      seen.add(name);
      if (!this.dirty.has(name)) {
        out = ensureBreak(out, false) + segment;
      } else if (first && this.has(name)) {
        // A replaced table keeps the comment lines written above it.
        out = ensureBreak(out, true) + lines.slice(h.start, h.line).join('') + this.tableText(name);
      }
    });
    for (const name of this.dirty) {
      if (!seen.has(name) && this.has(name)) out = ensureBreak(out, true) + this.tableText(name);
    }
    return out;
  }

  private tableText(name: string): string {
    const doc: TomlTable = {};
    Object.defineProperty(doc, name, { value: this.data[name], enumerable: true });
    return stringify(doc).trimEnd() + '\n';
  }

  /** Writes the file atomically (mode 0600, directory 0700 when created). */
  async save(): Promise<void> {
    const text = this.serialize();
    await writeFileAtomic(this.path, text, { mode: 0o600, dirMode: 0o700 });
    this.originalText = text;
    this.dirty.clear();
  }
}
