// Import cycles among the TypeScript files of a folder (a package's src/): every relative import
// (`import`, `import type`, `export … from`, `import()`) is an edge; a cycle is a strongly connected
// component of more than one file, or a file importing itself. Run as a script it checks every
// package's src/ and exits 1 on a cycle: `node tools/lint/import_cycles.mjs [packages/<pkg>/src …]`
// (`--self-test` checks the detector itself on a made-up tree).
// The eslint rule in ./no_import_cycle.mjs reports the same cycles while linting (every package's lint).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The .ts files under `dir` (recursively), absolute paths. */
function tsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (/\.(ts|mts|cts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The file a relative specifier names (`./a.js` → `./a.ts`, `./dir` → `./dir/index.ts`), or undefined. */
export function resolveSpecifier(from, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.(js|mjs|cjs|ts)$/, '');
  for (const c of [`${stem}.ts`, `${stem}.mts`, `${stem}.cts`, join(base, 'index.ts')]) if (existsSync(c) && statSync(c).isFile()) return c;
  return undefined;
}

/** The import graph of the .ts files under `dir`: file → files it imports (inside `dir`). */
export function importGraph(dir) {
  const root = resolve(dir);
  const files = tsFiles(root);
  const inside = new Set(files);
  const graph = new Map();
  for (const f of files) {
    const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
    const deps = new Set();
    for (const { fileName } of info.importedFiles) {
      const r = resolveSpecifier(f, fileName);
      if (r && inside.has(r)) deps.add(r);
    }
    graph.set(f, [...deps].sort());
  }
  return graph;
}

const graphs = new Map();

/** The import graph of `dir`, built once per process (a lint run). */
function cachedGraph(dir) {
  const root = resolve(dir);
  if (!graphs.has(root)) graphs.set(root, importGraph(root));
  return graphs.get(root);
}

/** A shortest import cycle through `file` inside `dir` (files, starting with `file`), or undefined. */
export function cycleThrough(dir, file) {
  const graph = cachedGraph(dir);
  if (!graph.has(file)) return undefined;
  return shortestCycleFrom(graph, file);
}

/** The import cycles under `dir`: one file list per cycle (a shortest cycle through each strongly connected component). */
export function importCycles(dir) {
  const graph = importGraph(dir);
  // Tarjan's strongly connected components
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const components = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || graph.get(v).includes(v)) components.push(comp);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components.map((comp) => shortestCycleFrom(graph, [...comp].sort()[0]));
}

/** A shortest cycle through `start` (breadth-first back to it), or undefined when there is none. */
function shortestCycleFrom(graph, start) {
  const prev = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of graph.get(v)) {
      if (w === start) {
        const path = [];
        for (let u = v; u !== null; u = prev.get(u)) path.unshift(u);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return undefined;
}

/** Check the detector on a made-up tree: cycles through type imports, re-exports and folder indexes; a chain is not a cycle. */
function selfTest() {
  const dir = mkdtempSync(join(tmpdir(), 'import-cycles-'));
  try {
    const files = {
      'op.ts': "import { k } from './kernels/cpu/k.js';\nexport const op = k;\n",
      'kernels/cpu/k.ts': "import type { Attrs } from '../../op.js';\nexport const k = (a?: Attrs) => a;\n",
      'a.ts': "export * from './b.js';\n",
      'b.ts': "import './c';\n",
      'c/index.ts': "export { x } from '../a.js';\nexport const x = 1;\n",
      'chain1.ts': "import { y } from './chain2.js';\nexport const z = y;\n",
      'chain2.ts': "import './sig.js';\nexport const y = 1;\n",
      'sig.ts': "export type S = number;\n",
      'self.ts': "import type { T } from './self.js';\nexport type T = number | T[];\n",
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    const found = importCycles(dir).map((c) => c.map((f) => relative(dir, f)).join(' -> ')).sort();
    const want = ['a.ts -> b.ts -> c/index.ts', 'kernels/cpu/k.ts -> op.ts', 'self.ts'];
    if (JSON.stringify(found) !== JSON.stringify(want)) throw new Error(`self-test: found ${JSON.stringify(found)}, expected ${JSON.stringify(want)}`);
    if (cycleThrough(dir, join(dir, 'chain1.ts')) !== undefined) throw new Error('self-test: a chain reported as a cycle');
    console.log('import cycle detector self-test passed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv[2] === '--self-test') {
  selfTest();
} else if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const dirs = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(join(repo, 'packages')).map((p) => join(repo, 'packages', p, 'src')).filter((d) => existsSync(d));
  let n = 0;
  for (const d of dirs) {
    for (const cycle of importCycles(d)) {
      n++;
      const names = cycle.map((f) => relative(repo, f));
      console.error(`import cycle: ${[...names, names[0]].join(' -> ')}`);
    }
  }
  if (n > 0) {
    console.error(`${n} import cycle(s); move the shared types into a file both sides import (e.g. <op>_signature.ts)`);
    process.exit(1);
  }
  console.log(`no import cycles in ${dirs.length} folder(s)`);
}
