/**
 * A fake CliContext for driving commands through runCli: in-memory stdin/stdout/stderr, optionally
 * flagged as a terminal so the interactive prompts (@inquirer/prompts) run on them.
 */
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { stripVTControlCharacters } from 'node:util';
import type { CliContext } from '../../../src/cli/context.js';

/** Keys as a terminal sends them. */
export const KEY = { enter: '\r', up: '\x1b[A', down: '\x1b[B', ctrlC: '\x03', backspace: '\x7f' } as const;

class Capture extends Writable {
  text = '';
  isTTY?: boolean;
  columns = 100;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

export interface FakeTerminal {
  ctx: CliContext;
  stdin: PassThrough & { isTTY?: boolean };
  /** Everything written to stdout, escape sequences removed. */
  out(): string;
  err(): string;
  /** Waits (deadline `ms`) until stdout, after the last mark, contains `text`; then moves the mark. */
  waitFor(text: string | RegExp, ms?: number): Promise<void>;
  /** Sends keys one at a time, pausing between them like a typist. */
  type(...keys: string[]): Promise<void>;
}

export function fakeTerminal(options: {
  env: NodeJS.ProcessEnv;
  tty?: boolean;
  stdin?: string;
}): FakeTerminal {
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  const stdout = new Capture();
  const stderr = new Capture();
  if (options.tty === true) {
    stdin.isTTY = true;
    stdout.isTTY = true;
    stderr.isTTY = true;
  }
  if (options.stdin !== undefined) stdin.end(options.stdin);
  let mark = 0;
  const out = () => stripVTControlCharacters(stdout.text);
  return {
    ctx: { stdin, stdout, stderr, env: options.env },
    stdin,
    out,
    err: () => stripVTControlCharacters(stderr.text),
    async waitFor(text, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const all = out();
        const rest = all.slice(mark);
        const idx = typeof text === 'string' ? rest.indexOf(text) : rest.search(text);
        if (idx >= 0) {
          const len = typeof text === 'string' ? text.length : (rest.slice(idx).match(text)?.[0].length ?? 1);
          mark += idx + len;
          return;
        }
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${String(text)}; output after mark:\n${rest}`);
        }
        await sleep(5);
      }
    },
    async type(...keys) {
      for (const k of keys) {
        // Typed text goes in as one chunk (readline splits it); special keys alone.
        stdin.write(k);
        await sleep(15);
      }
    },
  };
}
