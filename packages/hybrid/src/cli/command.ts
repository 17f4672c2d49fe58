/** What every `falcon` command provides, and the argument parsing they share. */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

/** What a command may use besides `out` (whole lines): streamed text, stderr lines, stdin. */
export interface CommandIO {
  /** Write text as it is, no newline added (text streamed as it is produced). */
  write(s: string): void;
  /** One line on stderr (statistics, notes that are not the command's output). */
  err(s: string): void;
  /** Standard input (`falcon chat` reads its messages there). */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** A `falcon` command. */
export interface Command {
  /** One line for `falcon --help`. */
  summary: string;
  /** The full `falcon <command> --help` text. */
  help: string;
  /** Runs the command; returns the exit code. */
  run(argv: string[], out: (s: string) => void, io: CommandIO): Promise<number>;
}

/** A mistake in the command line (exit code 2). */
export class UsageError extends Error {
  /** @param message - what is wrong, in one line */
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A negative number as a value (`-1`, `-0.5`, `-.5`, `-3e-4`, `-Infinity`), which node:util would read as an option. */
const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$)/;

/**
 * Parse options strictly (unknown options and stray positionals are usage errors). A negative
 * number after an option that takes a value is that option's value (`--lr -1` is `--lr=-1`), so the
 * command's own range check reports it, instead of node:util's "ambiguous" error.
 * @param argv - the command's arguments
 * @param options - node:util parseArgs option declarations
 */
export function parseOptions(argv: string[], options: NonNullable<ParseArgsConfig['options']>): Record<string, string | boolean | (string | boolean)[] | undefined> {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && i + 1 < argv.length && NEGATIVE_NUMBER.test(argv[i + 1])) {
      args.push(`${a}=${argv[++i]}`);
    } else args.push(a);
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}
