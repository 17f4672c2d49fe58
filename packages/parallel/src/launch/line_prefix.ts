/** Copies a worker's output to the launcher's, line by line, each line prefixed with its rank. */
import type { Readable, Writable } from 'node:stream';

/**
 * Pipe `from` into `to`, writing `prefix` in front of every line (a last line without a newline
 * gets one). Lines of different workers never interleave within a line.
 * @param from - a worker's stdout or stderr
 * @param to - the launcher's stdout or stderr
 * @param prefix - e.g. `'[rank 1]: '`; `''` copies unchanged
 * @returns a promise that resolves when `from` has ended and everything was written
 */
export function pipeWithPrefix(from: Readable, to: Writable, prefix: string): Promise<void> {
  let pending = '';
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    if (!prefix) {
      to.write(chunk);
      return;
    }
    const text = pending + chunk;
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      pending = text;
      return;
    }
    pending = text.slice(end + 1);
    to.write(
      text
        .slice(0, end)
        .split('\n')
        .map((l) => prefix + l + '\n')
        .join(''),
    );
  });
  return new Promise((resolve) => {
    const done = () => {
      if (pending) to.write(prefix + pending + '\n');
      pending = '';
      resolve();
    };
    from.once('close', done);
  });
}
