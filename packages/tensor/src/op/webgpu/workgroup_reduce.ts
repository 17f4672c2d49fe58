/**
 * WGSL of a workgroup tree reduction, for kernels that reduce a row (or a strided slice) per
 * workgroup: RMSNorm, the gated norm, the BitNet scales; every package's WGSL kernels use this one.
 */

/** A reduction {@link wgslWorkgroupReduce} can emit: `workgroupSum` or `workgroupMax`. */
export type WorkgroupReduceOp = 'sum' | 'max';

const COMBINE: Record<WorkgroupReduceOp, string> = { sum: 'a + b', max: 'max(a, b)' };

/**
 * WGSL declaring `const WG: u32` (the workgroup size), `var<workgroup> partial: array<f32, WG>` and,
 * for each op, `fn workgroupSum(lid: i32) -> f32` / `fn workgroupMax(lid: i32) -> f32`. Every
 * invocation of the workgroup writes its value to `partial[lid]` and then calls the function (in
 * uniform control flow); all get the total. The function ends with a barrier, so `partial` may be
 * written again at once (several reductions in one kernel).
 *
 * @example
 * ```ts
 * const shader = `${wgslWorkgroupReduce(64)}
 * fn main(index: i32) {
 *   let lid = i32(localId.x);
 *   partial[lid] = x[index];
 *   let total = workgroupSum(lid);
 *   ...
 * }`;
 * ```
 * @param wg - invocations per workgroup, a power of two (the program's `workgroupSize[0]`)
 * @param ops - the reductions to emit (default `['sum']`)
 * @returns WGSL source to put before the shader's `main`
 */
export function wgslWorkgroupReduce(wg: number, ops: readonly WorkgroupReduceOp[] = ['sum']): string {
  if (!Number.isInteger(wg) || wg < 1 || (wg & (wg - 1)) !== 0) throw new Error(`wgslWorkgroupReduce: wg must be a power of two, got ${wg}`);
  const fns = ops.map((op) => {
    const name = op === 'sum' ? 'workgroupSum' : 'workgroupMax';
    return /* wgsl */ `
fn ${name}Combine(a: f32, b: f32) -> f32 { return ${COMBINE[op]}; }
fn ${name}(lid: i32) -> f32 {
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (u32(lid) < s) { partial[lid] = ${name}Combine(partial[lid], partial[lid + i32(s)]); }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}`;
  });
  return /* wgsl */ `
const WG: u32 = ${wg}u;
var<workgroup> partial: array<f32, ${wg}>;${fns.join('')}`;
}
