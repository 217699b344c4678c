/**
 * The context every CLI command runs in, so tests drive commands without a real process.
 */
import type { Readable, Writable } from 'node:stream';

export interface CliContext {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Resolves when the command should stop (SIGINT/SIGTERM for a server). */
  stopSignal?: Promise<string>;
}

/** Thrown by commands to end with a message and an exit code (1 by default). */
export class CliExit extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

/** Writes a line to a stream. */
export function println(out: Writable, line = ''): void {
  out.write(line + '\n');
}
