// One linter for every package: typescript-eslint's recommended rules over src/ and test/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import falcon from './tools/lint/no_import_cycle.mjs';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'docs/api/**', '**/build/**', '.nx/**', '.device/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // no import cycles inside a package's src/ (tools/lint/import_cycles.mjs)
  { files: ['packages/*/src/**/*.ts'], plugins: { falcon }, rules: { 'falcon/no-import-cycle': 'error' } },
);
