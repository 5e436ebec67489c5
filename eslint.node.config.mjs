// Lint for the Node-side TypeScript (agent, datasource backend, cross-part tests, benches, scripts):
// typescript-eslint's recommended rules, no `any`, unused code is an error. The browser code under src/
// follows the Grafana scaffold's eslint.config.mjs instead.
import { defineConfig } from 'eslint/config';
import tsPlugin from '@typescript-eslint/eslint-plugin';
import tsParser from '@typescript-eslint/parser';

export default defineConfig([
  { ignores: ['**/node_modules/', 'build/', 'dist/', '**/artifacts/', 'test/browser/host/', 'src/__fixtures__/'] },
  ...tsPlugin.configs['flat/recommended'],
  {
    files: ['agent/**/*.ts', 'src/backend/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: { parser: tsParser, ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // CommonJS package: require() is how the native addon and a few optional modules load
      '@typescript-eslint/no-require-imports': 'off',
      eqeqeq: ['error', 'smart'],
      'no-console': 'off',
    },
  },
]);
