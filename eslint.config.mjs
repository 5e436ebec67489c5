import { defineConfig } from 'eslint/config';
import baseConfig from './.config/eslint.config.mjs';

export default defineConfig([
  {
    ignores: [
      '**/logs',
      '**/*.log',
      '**/node_modules/',
      '**/coverage',
      '**/dist/',
      '**/build/',
      '**/artifacts/',
      'test-results/',
      'playwright-report/',
      '**/.eslintcache',
      // Node-side code (agent, datasource backend, scripts, benches, cross-part tests) follows
      // tsconfig.node.json and docs/development.md, not the Grafana frontend lint rules.
      'agent/',
      'bpf/',
      'bench/',
      'scripts/',
      'deploy/',
      'test/',
      'src/backend/',
    ],
  },
  ...baseConfig,
]);
