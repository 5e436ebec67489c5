// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');
const { grafanaESModules, nodeModulesToTransform } = require('./.config/jest/utils');

// The scaffold's transform matches only .js/.ts(x); d3-color 3.1.1 (via @grafana/data) ships only .mjs, which
// then fails with "Unexpected token 'export'". Same SWC settings, extended to .mjs.
const swcTransform = base.transform['^.+\\.(t|j)sx?$'];

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...base,
  transform: {
    '^.+\\.(t|j)sx?$': swcTransform,
    '^.+\\.mjs$': swcTransform,
  },
  transformIgnorePatterns: [nodeModulesToTransform([...grafanaESModules, 'd3-[^/]+', 'internmap', 'delaunator', 'robust-predicates', '@grafana/flamegraph/dist/esm'])],
  // src/backend/ is Node code tested with node:test (tsconfig.node.json), not jest
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/src/backend/'],
  moduleFileExtensions: ['ts', 'tsx', 'js', 'jsx', 'mjs', 'cjs', 'json', 'node'],
  // the test script runs jest beside other suites on two CPUs: Grafana's components render slowly there
  testTimeout: 30000,
};
