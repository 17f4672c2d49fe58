/**
 * Typed uniforms of a WebGPU program: each becomes a field of tfjs's `Uniforms` struct
 * (`uniforms.<name>` in WGSL) and its value is packed by tfjs-backend-webgpu, which lays fields out
 * with WGSL's alignment rules (scalars 4 bytes, vec2 8, vec3/vec4 16).
 */

/** A WGSL scalar type a uniform can have. */
export type WgslScalarType = 'i32' | 'u32' | 'f32';

/** A WGSL type a uniform can have: a scalar or a 2-, 3- or 4-vector of one. */
export type WgslUniformType = WgslScalarType | `vec${2 | 3 | 4}<${WgslScalarType}>`;

/** One uniform: its WGSL type and its value (a number for a scalar, one number per component for a vector). */
export interface WgslUniform {
  /** The WGSL type, e.g. `'i32'`, `'f32'`, `'vec4<u32>'`. */
  type: WgslUniformType;
  /** The value: a number for a scalar type, an array of 2, 3 or 4 numbers for a vector type. */
  value: number | readonly number[];
}

/** The form tfjs-backend-webgpu's `runWebGPUProgram` takes uniform values in. @internal */
export interface TfjsUniform {
  type: 'int32' | 'uint32' | 'float32';
  data: number[];
}

const TYPE_RE = /^(?:(i32|u32|f32)|vec([234])<(i32|u32|f32)>)$/;
const IDENT_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

/** What a uniform type is made of. @internal */
export function parseUniformType(type: string): { scalar: WgslScalarType; components: number } | undefined {
  const m = TYPE_RE.exec(type);
  if (!m) return undefined;
  return m[1] ? { scalar: m[1] as WgslScalarType, components: 1 } : { scalar: m[3] as WgslScalarType, components: Number(m[2]) };
}

/** Whether `name` is usable as a WGSL identifier in our programs (letters, digits, `_`; a letter first). @internal */
export function isIdentifier(name: string): boolean {
  return IDENT_RE.test(name);
}

/**
 * Check the uniforms of program `program` and turn them into tfjs's struct fields and values.
 * `reserved` are the names tfjs already declares (shapes, strides, NAN, INFINITY, size).
 * @internal
 */
export function packUniforms(
  program: string,
  uniforms: Readonly<Record<string, WgslUniform>>,
  reserved: ReadonlySet<string>,
): { declaration: string; values: TfjsUniform[] } {
  let declaration = '';
  const values: TfjsUniform[] = [];
  for (const [name, u] of Object.entries(uniforms)) {
    const where = `webgpu program '${program}': uniform '${name}'`;
    if (!isIdentifier(name)) throw new Error(`${where}: not a valid WGSL identifier (letters, digits, _; a letter first)`);
    if (reserved.has(name)) throw new Error(`${where}: the name is taken by tfjs's own uniforms (${[...reserved].join(', ')})`);
    const t = parseUniformType(u.type);
    if (!t) throw new Error(`${where}: unsupported type '${u.type}' (expected i32, u32, f32 or vec2/3/4 of one)`);
    const data = typeof u.value === 'number' ? [u.value] : [...u.value];
    if (data.length !== t.components) {
      throw new Error(`${where}: type ${u.type} needs ${t.components} value(s), got ${data.length}`);
    }
    for (const v of data) {
      if (typeof v !== 'number') throw new Error(`${where}: value ${String(v)} is not a number`);
      if (t.scalar === 'i32' && !(Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31)) {
        throw new Error(`${where}: ${v} is not an i32`);
      }
      if (t.scalar === 'u32' && !(Number.isInteger(v) && v >= 0 && v < 2 ** 32)) throw new Error(`${where}: ${v} is not a u32`);
    }
    declaration += `${name} : ${u.type}, `;
    values.push({ type: t.scalar === 'i32' ? 'int32' : t.scalar === 'u32' ? 'uint32' : 'float32', data });
  }
  return { declaration, values };
}
