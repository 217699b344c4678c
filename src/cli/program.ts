/**
 * Builds the commander program. Each command lives in its own file and registers itself here.
 */
import { Command, CommanderError } from 'commander';
import { CliExit, type CliContext } from './context.js';
import { registerServe } from './serve.js';
import { registerConfig } from './config.js';
import { registerObscure } from './obscure.js';
import { registerCache } from './cache.js';
import { registerDrime } from './drime.js';
import { VERSION } from '../version.js';

/** Registers every command on a fresh program bound to `ctx`. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('s3local')
    .description('An S3-compatible server for backup tools, in front of a local directory or Drime Cloud')
    .version(VERSION)
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  registerServe(program, ctx);
  registerConfig(program, ctx);
  registerObscure(program, ctx);
  registerCache(program, ctx);
  registerDrime(program, ctx);
  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  if (argv.length === 0) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; usage errors exit 2 like click did for pys3local
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliExit) {
      if (err.message) ctx.stderr.write(`Error: ${err.message}\n`);
      return err.exitCode;
    }
    ctx.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
