/**
 * One WGSL program run through tfjs-backend-webgpu's program interface: {@link WebgpuProgram}
 * says what the shader reads and writes, how many workgroups to launch and with which uniforms;
 * {@link runWebgpuProgram} turns it into a tfjs `WebGPUProgram`, compiles it once per cache key
 * (tfjs's pipeline cache) and dispatches it. What WGSL a program's shader can use is listed in
 * docs/webgpu.md and on {@link WebgpuProgram.shader}.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WgslUniform } from './uniforms.js';
import { isIdentifier, packUniforms } from './uniforms.js';
import type { TfjsUniform } from './uniforms.js';

/**
 * A WGSL program that writes one output tensor.
 *
 * tfjs-backend-webgpu wraps {@link WebgpuProgram.shader} in a generated preamble; the shader can use:
 * - `result: array<f32>` (or `array<i32>` for an int32 output): the output buffer, written with
 *   `setOutputAtIndex(i: i32, v: f32)` (`setOutputAtIndexI32` for an i32 value) or, for an output of
 *   rank ≥ 2, `setOutputAtCoords(d0, d1, ..., v)`;
 * - one `var<storage, read> <name>: array<f32 | i32>` per entry of {@link WebgpuProgram.inputs}
 *   (float32 → f32; int32 and bool → i32), read with `<name>[i]` (its own type) or by coordinates
 *   with `get<Name>(d0, d1, ...)` (first letter upper-cased; always converted to f32), plus
 *   `get<Name>ByOutputIndex(i)` and `get<Name>ByOutputCoords(coords)` (broadcasting to the output
 *   shape) when its rank ≤ the output's;
 * - `uniforms.<name>` for each of {@link WebgpuProgram.uniforms}, and tfjs's own: `uniforms.size`
 *   (output element count), `uniforms.outShape`, `uniforms.outShapeStrides`, `uniforms.<name>Shape`,
 *   `uniforms.<name>ShapeStrides` per input (i32 for rank ≤ 1, `vec2<i32>`..`vec4<i32>`, then
 *   structs `vec5`/`vec6` with fields x y z w u v), `uniforms.NAN`, `uniforms.INFINITY`;
 * - index helpers: `getCoordsFromIndex(i)` (output), `get<Name>CoordsFromIndex(i)`,
 *   `getOutputIndexFromCoords(coords)`, `getIndexFromCoords1D..6D(coords, shape)`,
 *   `coordsInBounds2D..4D(coords, shape)`, `isnan(v)`, `isinf(v)`, `getGlobalIndex()`;
 * - the builtins, copied into private variables: `localId`, `localIndex`, `globalId`,
 *   `workgroupId`, `numWorkgroups` (all `vec3<u32>` except `localIndex: u32`).
 *
 * The shader defines the entry function tfjs calls: `fn main(index: i32)` when
 * {@link WebgpuProgram.dispatch} is a number (a flat launch; `index` is the invocation's global
 * linear index, correct even when tfjs folds a launch wider than 65535 workgroups into 2-D), or
 * `fn main()` when it is a `[x, y, z]` grid. A flat launch may run more invocations than asked
 * for, so guard every load and store; never `return` before a `workgroupBarrier()`.
 */
export interface WebgpuProgram {
  /** Label of the program (shown in WebGPU error messages) and the start of its cache key, e.g. `'FalconRmsNorm'`. */
  name: string;
  /**
   * The tensors the shader reads, by WGSL name, in binding order. A value may be a view of a
   * tensor with another shape of the same size (`{ ...x, shape: [rows, dim] }`: same buffer, no copy).
   */
  inputs: Readonly<Record<string, tf.TensorInfo>>;
  /** Shape of the output tensor (rank ≤ 6). */
  outputShape: readonly number[];
  /** dtype of the output (default `'float32'`). */
  outputDtype?: 'float32' | 'int32';
  /** Workgroup size `[x, y, z]` (missing entries are 1; default `[64, 1, 1]`). */
  workgroupSize?: readonly [number, number?, number?];
  /**
   * Number of workgroups to launch: a number for a flat launch (the shader defines
   * `fn main(index: i32)`), or a `[x, y, z]` grid (the shader defines `fn main()` and uses
   * `workgroupId`, `localId`, `globalId`); each grid dimension must fit the device limit (65535).
   */
  dispatch: number | readonly [number, number, number];
  /** Typed uniforms, declared in this order as `uniforms.<name>` (sizes belong here, not in the WGSL text). */
  uniforms?: Readonly<Record<string, WgslUniform>>;
  /**
   * The WGSL: helper functions, `var<workgroup>` arrays and the `main` entry (see above). Given
   * as a function it is called only when the program is compiled, i.e. once per cache key.
   */
  shader: string | (() => string);
  /**
   * Identifies the WGSL text: programs with the same name and key share one compiled pipeline, so
   * the key must change whenever the text does (give every value a `shader` function depends on).
   * When omitted the text itself is the key (and a `shader` function is called on every run).
   * tfjs adds the workgroup size, the input/output ranks and dtypes, and the input names.
   */
  cacheKey?: string;
}

/** The methods of tfjs's WebGPUBackend that programs need. */
interface TfjsWebgpuBackend extends tf.KernelBackend {
  device: { limits: Record<string, number> };
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], outputDtype: tf.DataType, uniforms?: TfjsUniform[]): tf.TensorInfo;
}

/** Whether `backend` is tfjs's WebGPU backend (the one `initBackend('webgpu')` starts). */
export function isWebgpuBackend(backend: tf.KernelBackend): boolean {
  return typeof (backend as Partial<TfjsWebgpuBackend>).runWebGPUProgram === 'function';
}

/** Names tfjs declares itself (WGSL keywords and builtins used by the preamble are added below). */
const TAKEN_NAMES = new Set(['result', 'uniforms', 'main', 'index', 'NAN', 'INFINITY', 'outShape', 'outShapeStrides', 'size']);

/** One class per program name, so that tfjs labels the WebGPU pipeline with it (it uses `constructor.name`). */
const classes = new Map<string, new () => object>();
function programClass(name: string): new () => object {
  let c = classes.get(name);
  if (!c) {
    c = { [name]: class {} }[name];
    classes.set(name, c);
  }
  return c;
}

function checkCount(program: string, what: string, n: number, max: number): void {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`webgpu program '${program}': ${what} must be a positive integer, got ${n}`);
  if (n > max) throw new Error(`webgpu program '${program}': ${what} ${n} exceeds this device's limit ${max}`);
}

/**
 * Run one WGSL program on the webgpu backend and return its output (a new tensor owned by the
 * caller: return it from the kernel or release it with `backend.disposeData(out.dataId)`).
 * The program is checked first (names, uniforms, workgroup size and launch size against the
 * device's limits) and every problem is thrown as an error naming the program.
 *
 * @param backend - the backend a kernel received (`KernelArgs.backend`); must be webgpu
 * @param program - what to run
 * @returns the output tensor, of shape `program.outputShape`
 */
export function runWebgpuProgram(backend: tf.KernelBackend, program: WebgpuProgram): tf.TensorInfo {
  const { name } = program;
  if (!isWebgpuBackend(backend)) {
    throw new Error(`webgpu program '${name}' needs the webgpu backend; the active backend is '${tf.getBackend()}'`);
  }
  const be = backend as TfjsWebgpuBackend;
  const limits = be.device.limits;

  const variableNames = Object.keys(program.inputs);
  const inputs = Object.values(program.inputs);
  const reserved = new Set(TAKEN_NAMES);
  variableNames.forEach((v, i) => {
    if (!isIdentifier(v) || TAKEN_NAMES.has(v)) throw new Error(`webgpu program '${name}': input name '${v}' is not usable in WGSL`);
    const t = inputs[i];
    if (!t || !t.dataId || !Array.isArray(t.shape)) throw new Error(`webgpu program '${name}': input '${v}' is not a tensor`);
    if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') {
      throw new Error(`webgpu program '${name}': input '${v}' has dtype ${t.dtype}; WebGPU programs take float32, int32 or bool`);
    }
    if (t.shape.length > 6) throw new Error(`webgpu program '${name}': input '${v}' has rank ${t.shape.length} > 6; pass a view with fewer dims`);
    reserved.add(`${v.charAt(0).toLowerCase()}${v.slice(1)}Shape`).add(`${v.charAt(0).toLowerCase()}${v.slice(1)}ShapeStrides`);
  });
  const outputShape = [...program.outputShape];
  if (outputShape.length > 6) throw new Error(`webgpu program '${name}': output rank ${outputShape.length} > 6`);
  if (!outputShape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`webgpu program '${name}': bad output shape [${outputShape}]`);

  const [wx, wy = 1, wz = 1] = program.workgroupSize ?? [64, 1, 1];
  checkCount(name, 'workgroupSize[0]', wx, limits.maxComputeWorkgroupSizeX);
  checkCount(name, 'workgroupSize[1]', wy, limits.maxComputeWorkgroupSizeY);
  checkCount(name, 'workgroupSize[2]', wz, limits.maxComputeWorkgroupSizeZ);
  checkCount(name, 'workgroup size (x·y·z)', wx * wy * wz, limits.maxComputeInvocationsPerWorkgroup);

  const flat = typeof program.dispatch === 'number';
  let dispatch: [number, number, number];
  if (typeof program.dispatch === 'number') {
    const perDim = limits.maxComputeWorkgroupsPerDimension;
    checkCount(name, 'dispatch (workgroups)', program.dispatch, perDim * perDim * perDim);
    dispatch = [program.dispatch, 1, 1];
  } else {
    dispatch = [...program.dispatch];
    dispatch.forEach((d, i) => checkCount(name, `dispatch[${i}]`, d, limits.maxComputeWorkgroupsPerDimension));
  }

  const { declaration, values } = packUniforms(name, program.uniforms ?? {}, reserved);
  // tfjs skips the launch when the output is empty; otherwise every input is bound, and WebGPU
  // cannot bind an empty buffer.
  if (outputShape.every((d) => d > 0)) {
    variableNames.forEach((v, i) => {
      if (inputs[i].shape.some((d) => d === 0)) {
        throw new Error(`webgpu program '${name}': input '${v}' is empty (shape [${inputs[i].shape}]); WebGPU cannot bind an empty buffer, handle this case without the program`);
      }
    });
  }
  const { shader, cacheKey } = program;
  // Without a cache key the text is the key, so a shader function is called now; with one, on a cache miss only.
  const source = typeof shader === 'string' ? shader : cacheKey === undefined ? shader() : undefined;
  const key = cacheKey ?? (source as string);

  const Program = programClass(name);
  const tfjsProgram = Object.assign(new Program(), {
    variableNames,
    outputShape,
    shaderKey: `${name}|${flat ? 'flat' : 'grid'}|${declaration}|${key}`,
    // A flat layout over every output dim makes tfjs call main(index); a y entry makes it call main().
    dispatchLayout: flat ? { x: outputShape.map((_, i) => i) } : { x: outputShape.map((_, i) => i), y: [0] },
    dispatch,
    workgroupSize: [wx, wy, wz] as [number, number, number],
    size: true,
    uniforms: declaration,
    getUserCode: () => {
      const code = source ?? (shader as () => string)();
      const main = flat ? /\bfn\s+main\s*\(\s*index\s*:\s*i32\s*\)/ : /\bfn\s+main\s*\(\s*\)/;
      if (!main.test(code)) {
        throw new Error(`webgpu program '${name}': the shader must define ${flat ? 'fn main(index: i32)' : 'fn main()'} (dispatch is ${flat ? 'a number' : 'a grid'})`);
      }
      return code;
    },
  });
  return be.runWebGPUProgram(tfjsProgram, inputs, program.outputDtype ?? 'float32', values);
}
