// ESLint rule `falcon/no-import-cycle`: reports an import (or `export … from`) of a package's src/
// that closes an import cycle inside that src/ (type-only imports included: a cycle of types is a
// knot in the floor plan too), naming the whole cycle. The graph is ./import_cycles.mjs's.
import { dirname, relative, resolve, sep } from 'node:path';
import { cycleThrough, resolveSpecifier } from './import_cycles.mjs';

/** The `src` folder of the package a file belongs to (`…/packages/<pkg>/src`), or undefined. */
function srcDirOf(file) {
  const parts = resolve(file).split(sep);
  const i = parts.lastIndexOf('src');
  return i > 0 && parts[i - 2] === 'packages' ? parts.slice(0, i + 1).join(sep) : undefined;
}

/** @type {import('eslint').Rule.RuleModule} */
export const noImportCycle = {
  meta: {
    type: 'problem',
    docs: { description: "no import cycles among the files of a package's src/ (put shared types in a file both sides import, e.g. <op>_signature.ts)" },
    schema: [],
    messages: { cycle: 'import cycle: {{cycle}}' },
  },
  create(context) {
    const file = context.filename;
    const src = srcDirOf(file);
    if (!src) return {};
    const cycle = cycleThrough(src, resolve(file));
    if (!cycle) return {};
    const next = cycle[1] ?? cycle[0];
    const repo = resolve(src, '../../..');
    const text = [...cycle, cycle[0]].map((f) => relative(repo, f)).join(' -> ');
    const check = (node) => {
      const spec = node.source?.value;
      if (typeof spec === 'string' && resolveSpecifier(file, spec) === next) context.report({ node, messageId: 'cycle', data: { cycle: text } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

/** The plugin object for eslint.config.js. */
export default { rules: { 'no-import-cycle': noImportCycle } };
