// Lint: typescript-eslint's recommended rules, and the layering of docs/architecture.md §1 as
// import rules, so a wrong import fails `npm test` instead of waiting for review:
//   src/core   imports neither `vscode` nor tfjs (types only) nor the trainer or host layers above it;
//   src/trainer never imports `vscode` (nor the host);
//   webview/   never imports src/host or src/trainer (it talks to the host by messages only).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const vscode = { name: 'vscode', message: 'only src/host (and src/extension.ts) may import vscode (docs/architecture.md §1)' };
const tfjs = { group: ['@tensorflow/*'], message: 'tfjs belongs to the trainer; src/core stays pure (docs/architecture.md §1)' };
const host = { group: ['**/host', '**/host/**'], message: 'the host layer needs vscode; import from src/core instead (docs/architecture.md §1)' };
const trainer = { group: ['**/trainer', '**/trainer/**'], message: 'the trainer layer pulls in tfjs; import from src/core instead (docs/architecture.md §1)' };

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'test-output/**', 'native/**', '**/*.js', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_`-prefixed names are deliberately unused (a required parameter position, a skipped element).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  // Build scripts run in Node.
  { files: ['**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
  // Tests poke at loosely typed things (parsed JSON, a chart's internals) and load optional tools.
  { files: ['test/**/*.ts', 'bench/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-require-imports': 'off' } },
  // The loss files in src/core/losses write their math against the tfjs namespace the trainer hands
  // in (docs/losses.md): type imports of tfjs are allowed in core, value imports are not.
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [vscode], patterns: [{ ...tfjs, allowTypeImports: true }, host, trainer] }],
    },
  },
  { files: ['src/trainer/**/*.ts'], rules: { 'no-restricted-imports': ['error', { paths: [vscode], patterns: [host] }] } },
  { files: ['webview/**/*.ts'], rules: { 'no-restricted-imports': ['error', { paths: [vscode], patterns: [host, trainer, tfjs] }] } },
);
