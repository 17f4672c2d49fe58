/**
 * Pipeline schedules as data: for each stage, the ordered list of forward and backward passes it
 * runs over the microbatches of one step. {@link oneFOneBSchedule} is PipeDream-flush's 1F1B
 * (warm-up forwards, steady one-forward-one-backward, cool-down backwards);
 * {@link interleavedSchedule} is Megatron's interleaved 1F1B over `chunks` model chunks per stage
 * (virtual stages). Pure functions: the executor ({@link runPipeline}) derives every transfer from
 * them, and {@link checkSchedule} replays a whole pipeline to prove it completes.
 */

/** One pass a stage runs. */
export interface PipelineAction {
  /** `'forward'`: run the chunk on the microbatch's input; `'backward'`: its gradient. */
  kind: 'forward' | 'backward';
  /** The microbatch, `0 ≤ microbatch < m`. */
  microbatch: number;
  /** The model chunk of this stage (0 without interleaving); its virtual stage is `chunk·s + stage`. */
  chunk: number;
}

/** The shape of a pipeline. */
export interface PipelineShape {
  /** Pipeline stages `s` (ranks of the pipeline group). */
  stages: number;
  /** Microbatches `m` per step. */
  microbatches: number;
  /** Model chunks per stage `v` (1: plain 1F1B; more: interleaved). */
  chunks?: number;
}

function checkShape(where: string, p: PipelineShape, stage: number): number {
  const v = p.chunks ?? 1;
  for (const [k, x] of [['stages', p.stages], ['microbatches', p.microbatches], ['chunks', v]] as const) {
    if (!Number.isInteger(x) || x < 1) throw new RangeError(`${where}: ${k} must be a positive integer, got ${x}`);
  }
  if (!Number.isInteger(stage) || stage < 0 || stage >= p.stages) throw new RangeError(`${where}: stage ${stage} is not in [0, ${p.stages})`);
  return v;
}

/**
 * 1F1B for `stage` of `s`: `min(s − stage − 1, m)` warm-up forwards, then forward/backward pairs,
 * then the remaining backwards. At most `s − stage` microbatches are in flight on the stage (forward
 * done, backward not yet).
 * @param p - stages and microbatches (chunks must be 1)
 * @param stage - this stage, `0 ≤ stage < s`
 * @returns the stage's `2m` actions in order
 */
export function oneFOneBSchedule(p: PipelineShape, stage: number): PipelineAction[] {
  const v = checkShape('oneFOneBSchedule', p, stage);
  if (v !== 1) throw new RangeError(`oneFOneBSchedule: takes one chunk per stage, got ${v} (use interleavedSchedule)`);
  const m = p.microbatches;
  const warmup = Math.min(p.stages - stage - 1, m);
  const out: PipelineAction[] = [];
  const f = (mb: number) => out.push({ kind: 'forward', microbatch: mb, chunk: 0 });
  const b = (mb: number) => out.push({ kind: 'backward', microbatch: mb, chunk: 0 });
  for (let i = 0; i < warmup; i++) f(i);
  for (let i = 0; i < m - warmup; i++) {
    f(warmup + i);
    b(i);
  }
  for (let i = m - warmup; i < m; i++) b(i);
  return out;
}

/**
 * Megatron's interleaved 1F1B for `stage` of `s` with `v` chunks per stage: microbatches go
 * through the chunks in groups of `s`; `(s − stage − 1)·2 + (v − 1)·s` warm-up forwards (all of
 * them when `m = s`), then forward/backward pairs, then the remaining backwards. The pipeline
 * bubble shrinks by `v` against {@link oneFOneBSchedule}, for `v` times the point-to-point traffic.
 * @param p - stages, microbatches (a multiple of the stages, as Megatron requires) and chunks
 * @param stage - this stage
 * @returns the stage's `2·m·v` actions in order
 */
export function interleavedSchedule(p: PipelineShape, stage: number): PipelineAction[] {
  const v = checkShape('interleavedSchedule', p, stage);
  const { stages: s, microbatches: m } = p;
  if (v === 1) return oneFOneBSchedule(p, stage);
  if (m % s !== 0) throw new RangeError(`interleavedSchedule: the microbatches (${m}) must be a multiple of the stages (${s})`);
  const total = m * v;
  const warmup = m === s ? total : Math.min((s - stage - 1) * 2 + (v - 1) * s, total);
  // the k-th forward (or backward) of the stage: microbatches in groups of s through every chunk
  const mb = (k: number) => Math.floor(k / (s * v)) * s + (k % s);
  const chunkOf = (k: number) => Math.floor((k % (s * v)) / s);
  const out: PipelineAction[] = [];
  const f = (k: number) => out.push({ kind: 'forward', microbatch: mb(k), chunk: chunkOf(k) });
  const b = (k: number) => out.push({ kind: 'backward', microbatch: mb(k), chunk: v - 1 - chunkOf(k) });
  for (let k = 0; k < warmup; k++) f(k);
  for (let k = 0; k < total - warmup; k++) {
    f(warmup + k);
    b(k);
  }
  for (let k = total - warmup; k < total; k++) b(k);
  return out;
}

/** Which schedule a pipeline runs. */
export type PipelineScheduleKind = '1f1b' | 'interleaved';

/**
 * The actions of `stage` under the given schedule (`'interleaved'` with one chunk is 1F1B).
 * @param kind - `'1f1b'` or `'interleaved'`
 */
export function pipelineSchedule(kind: PipelineScheduleKind, p: PipelineShape, stage: number): PipelineAction[] {
  if (kind === '1f1b') return oneFOneBSchedule(p, stage);
  if (kind === 'interleaved') return interleavedSchedule(p, stage);
  throw new RangeError(`pipelineSchedule: unknown schedule '${String(kind)}' (expected '1f1b' or 'interleaved')`);
}

/** What {@link checkSchedule} found. */
export interface ScheduleReplay {
  /** Per stage, the most microbatch-chunks in flight at once (forward done, backward not yet). */
  maxInFlight: number[];
  /** Time steps of the replay (every stage runs at most one action per step, once its inputs have arrived). */
  steps: number;
  /** Per stage, the action it ran at each time step (`undefined`: idle, the bubble). */
  timeline: (PipelineAction | undefined)[][];
}

/**
 * Replays a whole pipeline: at every time step each stage runs its next action if what it needs
 * has arrived (a forward its input from the previous virtual stage, a backward the gradient from
 * the next one and its own forward), with sends never blocking — the executor's semantics.
 * @param schedules - each stage's actions (`schedules[r]` for stage r)
 * @param p - the pipeline's shape
 * @returns per-stage in-flight maxima, the time steps and the timeline (the rank/time picture)
 * @throws when a stage's list is not every forward and backward exactly once, or the pipeline deadlocks
 */
export function checkSchedule(schedules: PipelineAction[][], p: PipelineShape): ScheduleReplay {
  const s = p.stages;
  const v = p.chunks ?? 1;
  const m = p.microbatches;
  const last = s * v - 1;
  if (schedules.length !== s) throw new Error(`checkSchedule: ${schedules.length} stage lists for ${s} stages`);
  schedules.forEach((list, r) => {
    const seen = new Set(list.map((a) => `${a.kind}${a.microbatch}:${a.chunk}`));
    if (list.length !== 2 * m * v || seen.size !== list.length) throw new Error(`checkSchedule: stage ${r} does not run each of the ${2 * m * v} passes exactly once`);
  });
  const done = new Set<string>();
  const key = (kind: string, mb: number, vs: number) => `${kind}${mb}@${vs}`;
  const next = new Array<number>(s).fill(0);
  const inFlight = new Array<number>(s).fill(0);
  const maxInFlight = new Array<number>(s).fill(0);
  const timeline: (PipelineAction | undefined)[][] = schedules.map(() => []);
  let steps = 0;
  while (next.some((n, r) => n < schedules[r].length)) {
    const now: string[] = [];
    let progressed = false;
    for (let r = 0; r < s; r++) {
      const a = schedules[r][next[r]];
      const vs = a ? a.chunk * s + r : -1;
      const ready =
        a !== undefined &&
        (a.kind === 'forward'
          ? vs === 0 || done.has(key('forward', a.microbatch, vs - 1))
          : done.has(key('forward', a.microbatch, vs)) && (vs === last || done.has(key('backward', a.microbatch, vs + 1))));
      timeline[r].push(ready ? a : undefined);
      if (!ready) continue;
      now.push(key(a.kind, a.microbatch, vs));
      next[r]++;
      inFlight[r] += a.kind === 'forward' ? 1 : -1;
      maxInFlight[r] = Math.max(maxInFlight[r], inFlight[r]);
      progressed = true;
    }
    if (!progressed) {
      const waiting = schedules.map((l, r) => (next[r] < l.length ? `stage ${r} at ${l[next[r]].kind} of microbatch ${l[next[r]].microbatch} chunk ${l[next[r]].chunk}` : undefined)).filter(Boolean);
      throw new Error(`checkSchedule: the pipeline deadlocks (${waiting.join('; ')})`);
    }
    for (const k of now) done.add(k);
    steps++;
  }
  return { maxInFlight, steps, timeline };
}
