/** The `falcon` command dispatcher: parses the command name, prints help, maps errors to exit codes. */
import { buildCudaCommand } from './build_cuda.js';
import { convertCommand } from './convert.js';
import { exportCommand } from './export.js';
import { generateCommand } from './generate.js';
import { infoCommand } from './info.js';
import { launchCommand } from './launch.js';
import { trainCommand } from './train.js';
import { chatCommand } from './chat.js';
import type { Command, CommandIO } from './command.js';
import { UsageError } from './command.js';

/** Every command of the `falcon` CLI, by name. */
export const COMMANDS: Record<string, Command> = { train: trainCommand, generate: generateCommand, chat: chatCommand, convert: convertCommand, info: infoCommand, launch: launchCommand, 'build-cuda': buildCudaCommand, export: exportCommand };

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'falcon: Falcon-H1 hybrid models in TypeScript',
    '',
    'Usage: falcon <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'falcon <command> --help' for a command's options.",
  ].join('\n');
}

/**
 * Run the CLI with `argv` (without node and the script) and return the exit code.
 * @param argv - e.g. `['info', '--json']`
 * @param out - where normal output goes (default stdout)
 * @param err - where errors go (default stderr)
 * @param io - streamed text (default stdout) and stdin (default process.stdin); notes go to err
 */
export async function main(
  argv: string[],
  out: (s: string) => void = (s) => process.stdout.write(s + '\n'),
  err: (s: string) => void = (s) => process.stderr.write(s + '\n'),
  io: Partial<Omit<CommandIO, 'err'>> = {},
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(help());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    const { VERSION } = await import('../version.js');
    out(VERSION);
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    err(`falcon: unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')}; see 'falcon --help')`);
    return 2;
  }
  // options end at '--' (what follows belongs to the command `falcon launch` starts)
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (own.includes('--help') || own.includes('-h')) {
    out(cmd.help);
    return 0;
  }
  try {
    return await cmd.run(rest, out, { write: io.write ?? ((s) => process.stdout.write(s)), err, stdin: io.stdin ?? process.stdin });
  } catch (e) {
    if (process.env.FALCON_DEBUG) err((e as Error).stack ?? String(e));
    // one line: an error listing several problems (a config's) has them on lines of their own
    const message = String((e as Error).message ?? e)
      .split('\n')
      .map((l) => l.trim().replace(/^- /, ''))
      .filter(Boolean)
      .join(' ');
    if (e instanceof UsageError) {
      err(`falcon ${name}: ${message} (see 'falcon ${name} --help')`);
      return 2;
    }
    err(`falcon ${name}: ${message}`);
    // an error may carry its own exit code (a launched job that failed passes on its rank's)
    const code = (e as { exitCode?: unknown }).exitCode;
    return typeof code === 'number' && Number.isInteger(code) && code > 0 ? code : 1;
  }
}
