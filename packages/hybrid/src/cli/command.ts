/** What every `falcon` command provides, and the argument parsing they share. */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

/** A `falcon` command. */
export interface Command {
  /** One line for `falcon --help`. */
  summary: string;
  /** The full `falcon <command> --help` text. */
  help: string;
  /** Runs the command; returns the exit code. */
  run(argv: string[], out: (s: string) => void): Promise<number>;
}

/** A mistake in the command line (exit code 2). */
export class UsageError extends Error {
  /** @param message - what is wrong, in one line */
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Parse options strictly (unknown options and stray positionals are usage errors).
 * @param argv - the command's arguments
 * @param options - node:util parseArgs option declarations
 */
export function parseOptions(argv: string[], options: NonNullable<ParseArgsConfig['options']>): Record<string, string | boolean | (string | boolean)[] | undefined> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}
