// Runs the real `falcon` command line in a child process (from the TypeScript sources through tsx,
// so no build is needed), for what only a separate process can show: native messages on stderr,
// and being killed.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../tsconfig.json', import.meta.url));

/** What a finished CLI process gave. */
export interface CliResult {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  /** The signal that killed it, if any. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Start `falcon <args>`; resolves when it exits.
 * @param args - the command line after `falcon`
 * @param env - extra environment variables (e.g. FALCON_TEST_KILL_AT)
 * @param onStart - receives the child (to kill it from outside)
 */
export function falcon(args: string[], env: Record<string, string> = {}, onStart?: (c: ChildProcess) => void): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG, FALCON_TEST_KILL_AT: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    onStart?.(child);
  });
}
