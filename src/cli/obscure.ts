/**
 * `s3local obscure [PASSWORD]` and `s3local reveal VALUE`: rclone's obscure format and key, so the
 * values are interchangeable with `rclone obscure` / `rclone reveal` and rclone.conf.
 */
import { password } from '@inquirer/prompts';
import type { Command } from 'commander';
import { obscure, reveal, RevealError } from '../config/obscure.js';
import { ask, PromptCancelled, readFirstLine } from '../config/prompts.js';
import { CliExit, println, type CliContext } from './context.js';

const WARNING =
  "This is obfuscation, NOT encryption: the key is public (it is rclone's), and anyone who has the\n" +
  'obscured value can turn it back into the password with `s3local reveal` or `rclone reveal`. It only\n' +
  'keeps a secret from being read at a glance; protect the file that holds it.';

async function readSecret(ctx: CliContext, given: string | undefined, prompt: string): Promise<string> {
  if (given !== undefined && given !== '-') return given;
  if (given === undefined && ctx.stdin.isTTY === true) {
    try {
      return await ask(ctx, (c) => password({ message: prompt, mask: '*' }, c));
    } catch (err) {
      if (err instanceof PromptCancelled) {
        println(ctx.stderr);
        println(ctx.stderr, 'Aborted.');
        throw new CliExit('', 130);
      }
      throw err;
    }
  }
  return readFirstLine(ctx.stdin);
}

/** Registers `s3local obscure` and `s3local reveal`. */
export function registerObscure(program: Command, ctx: CliContext): void {
  program
    .command('obscure')
    .description('obscure a password for backends.toml or rclone.conf (obfuscation, not encryption)')
    .argument('[password]', 'the password; "-" reads the first line of stdin')
    // Passwords and obscured values may start with "-": take them as the argument, not as options.
    .allowUnknownOption()
    .helpOption('--help', 'display help for command')
    .addHelpText(
      'after',
      "\nUses rclone's obscure format and key: the output works in rclone.conf, and values from\n" +
        '`rclone obscure` work in backends.toml.\n\n' +
        WARNING +
        '\n\nWithout PASSWORD: prompts with hidden input on a terminal, otherwise reads the first line of stdin.\n' +
        'Prefer that to an argument, which other users can see in the process list.\n' +
        'Put `--` before a PASSWORD that starts with "-".\n\n' +
        'Example:\n  printf %s "$TOKEN" | s3local obscure',
    )
    .action(async (given: string | undefined) => {
      const plain = await readSecret(ctx, given, 'Enter password to obscure');
      if (plain === '') throw new CliExit('Password cannot be empty', 1);
      println(ctx.stdout, obscure(plain));
      if (ctx.stderr.isTTY === true) {
        println(
          ctx.stderr,
          'Note: obfuscation, not encryption - `s3local reveal` or `rclone reveal` turns it back.',
        );
      }
    });

  program
    .command('reveal')
    .description('reveal a value made by `s3local obscure` or `rclone obscure`')
    .argument('<value>', 'the obscured value; "-" reads the first line of stdin')
    .allowUnknownOption()
    .helpOption('--help', 'display help for command')
    .addHelpText(
      'after',
      '\n' +
        WARNING +
        '\n\nObscured values can start with "-": put `--` before VALUE, or pipe it to `s3local reveal -`.',
    )
    .action(async (given: string) => {
      const value = await readSecret(ctx, given, 'Obscured value');
      try {
        println(ctx.stdout, reveal(value));
      } catch (err) {
        if (err instanceof RevealError) throw new CliExit(`Cannot reveal: ${err.message}`, 1);
        throw err;
      }
    });
}
