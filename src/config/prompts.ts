/**
 * @inquirer/prompts bound to a command's streams, so tests can drive the prompts through
 * in-memory streams and the interactive commands never touch process.stdin/stdout directly.
 */
import { Writable } from 'node:stream';

/** The streams a prompt reads keys from and draws on. */
export interface PromptStreams {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { columns?: number };
}

/** The context argument every @inquirer/prompts prompt accepts. */
export interface PromptContext {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  signal: AbortSignal;
}

/** The user left a prompt: Ctrl-C, or the input stream ended. */
export class PromptCancelled extends Error {
  constructor(readonly reason: 'interrupt' | 'end') {
    super(reason === 'interrupt' ? 'Interrupted' : 'Input closed');
    this.name = 'PromptCancelled';
  }
}

/**
 * Runs one prompt on `io`. Ctrl-C (inquirer's ExitPromptError) and the end of the input stream
 * both become {@link PromptCancelled}.
 */
export async function ask<T>(io: PromptStreams, prompt: (context: PromptContext) => Promise<T>): Promise<T> {
  // inquirer pipes its drawing into `output` and ends it when the prompt is done; that would close
  // a test's stream (process.stdout is exempt), so hand it a forwarder that ignores end().
  const output = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      io.stdout.write(chunk);
      callback();
    },
  });
  Object.defineProperty(output, 'columns', { get: () => io.stdout.columns ?? 80 });
  const abort = new AbortController();
  const onEnd = () => abort.abort(new PromptCancelled('end'));
  io.stdin.once('end', onEnd);
  io.stdin.once('close', onEnd);
  try {
    return await prompt({ input: io.stdin, output, signal: abort.signal });
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    if (name === 'ExitPromptError') throw new PromptCancelled('interrupt');
    if (name === 'AbortPromptError') throw new PromptCancelled('end');
    throw err;
  } finally {
    io.stdin.removeListener('end', onEnd);
    io.stdin.removeListener('close', onEnd);
  }
}

/**
 * The first line of `stream` without its line ending (rclone's `obscure -` reads one line too).
 * At most 64 KiB is read.
 */
export async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.includes('\n')) break;
    if (text.length > 64 * 1024) throw new Error('Input on stdin is too long');
  }
  return (text.split('\n')[0] ?? '').replace(/\r$/, '');
}
