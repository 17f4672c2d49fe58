/**
 * A progress bar for long work on a terminal (stderr): `[#####.....] 50/100 loss 2.31 1,234 tok/s ETA 0:42`.
 * When stderr is not a terminal it prints one plain line every `logEvery` updates instead.
 */

/** Options of {@link ProgressBar}. */
export interface ProgressOptions {
  /** Label in front of the bar. */
  label?: string;
  /** Where to write (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Without a terminal: print every this many updates (default 10). */
  logEvery?: number;
  /** Steps already done before this process started (a resumed run): the rate and ETA count only the steps after them. */
  startAt?: number;
  /** The clock in milliseconds (default performance.now; tests pass their own). */
  now?: () => number;
}

/** A terminal progress bar. */
export class ProgressBar {
  private readonly start: number;
  private readonly now: () => number;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private count = 0;

  /**
   * @param total - the number of steps
   * @param options - label, stream, non-terminal logging interval
   */
  constructor(
    readonly total: number,
    private readonly options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.tty = !!this.stream.isTTY;
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
  }

  /**
   * Report that step `done` (1-based) finished, with fields to show (e.g. loss, tok/s).
   * @param done - steps completed so far
   * @param fields - values shown after the bar
   */
  update(done: number, fields: Record<string, string | number> = {}): void {
    this.count++;
    const elapsed = (this.now() - this.start) / 1000;
    const here = done - (this.options.startAt ?? 0); // steps done by this process
    const eta = here > 0 ? (elapsed / here) * (this.total - done) : 0;
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`)
      .join('  ');
    const label = this.options.label ? `${this.options.label} ` : '';
    if (this.tty) {
      const width = 24;
      const filled = Math.round((width * done) / this.total);
      const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
      this.stream.write(`\r${label}[${bar}] ${done}/${this.total}  ${extra}  ETA ${clock(eta)}\x1b[K`);
      if (done >= this.total) this.stream.write('\n');
    } else if (done >= this.total || this.count % (this.options.logEvery ?? 10) === 0) {
      this.stream.write(`${label}${done}/${this.total}  ${extra}  elapsed ${clock(elapsed)}  ETA ${clock(eta)}\n`);
    }
  }
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(4);
}

function clock(s: number): string {
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  return `${m}:${String(sec).padStart(2, '0')}`;
}
