/*
 * Extends the create-plugin webpack config (.config/webpack/webpack.config.ts, left as scaffolded) the way
 * https://grafana.com/developers/plugin-tools/how-to-guides/extend-configurations documents it.
 *
 * What differs from the scaffold, and why:
 * - The app's plugin.json lives at the repository ROOT (DESIGN.md layout). The scaffold reads
 *   src/plugin.json while it loads, so src/plugin.json is a symlink to ../plugin.json; here the app entry
 *   is named explicitly and the copy step takes the root file, so dist/plugin.json is the root one.
 * - src/ also holds things that must not ship: src/backend/ (the datasource backend, built separately
 *   into dist/datasource/gpx_autotracing_linux_amd64) and src/__fixtures__/ (test data). The scaffold
 *   copies every src/**\/*.json; here only plugin.json files, images and docs are copied.
 * - The repository has no LICENSE/CHANGELOG.md of the plugin's own: they are copied when present.
 *
 * Versions (package.json): React 18.3 and @grafana/{data,ui,runtime,schema,i18n} 12.4.2, as create-plugin 7.1.7
 * scaffolds for Grafana >= 12.3 (all externals: Grafana supplies its own at run time). @grafana/flamegraph is
 * NOT provided by Grafana and is bundled into panels/flamegraph/module.js and the app's event page chunk. It
 * exists only as 10.x, 11.x and 13.0.1: 13.0.1 peers on @grafana/assistant and react-table and calls
 * @grafana/ui 13 APIs a Grafana 12 may lack, so 11.3.1 is used (React 18 peer; its code runs against
 * Grafana 12's @grafana/ui at run time). npm `overrides` give it our @grafana/data/ui 12.4.2, react 18.3.1 and
 * @emotion/css (one copy each in jest and type checks), and pin react-data-grid to a registry version
 * (@grafana/ui 12.x depends on a GitHub tarball, which cannot be fetched here).
 */
import CopyWebpackPlugin from 'copy-webpack-plugin';
import path from 'path';
import type { Configuration } from 'webpack';
import { merge } from 'webpack-merge';
import grafanaConfig, { type Env } from './.config/webpack/webpack.config';

const NOT_SHIPPED = ['backend/**', '__fixtures__/**', '**/*.test.*'];

const copyPatterns = [
  { from: '../plugin.json', to: 'plugin.json', force: true },
  // nested plugins: datasource/plugin.json, panels/flamegraph/plugin.json
  { from: '*/**/plugin.json', to: '[path][name][ext]', globOptions: { ignore: NOT_SHIPPED } },
  { from: '**/img/**', to: '[path][name][ext]', globOptions: { ignore: NOT_SHIPPED } },
  { from: '**/query_help.md', to: '[path][name][ext]', noErrorOnMissing: true, globOptions: { ignore: NOT_SHIPPED } },
  { from: 'README.md', to: 'README.md', force: true },
  { from: '../LICENSE', to: '.', noErrorOnMissing: true },
  { from: '../CHANGELOG.md', to: '.', noErrorOnMissing: true },
];

const config = async (env: Env): Promise<Configuration> => {
  const baseConfig = await grafanaConfig(env);
  const plugins = (baseConfig.plugins ?? []).filter((p) => !(p instanceof CopyWebpackPlugin));
  const srcDir = path.resolve(process.cwd(), 'src') + path.sep;
  const backendDir = path.join(srcDir, 'backend') + path.sep;
  const entry: Record<string, string> = {};
  for (const [name, file] of Object.entries(baseConfig.entry as Record<string, string>)) {
    if (file.startsWith(srcDir) && !file.startsWith(backendDir)) {
      entry[name] = file;
    }
  }
  entry.module = path.join(srcDir, 'module.tsx');

  return merge({ ...baseConfig, plugins, entry }, {
    plugins: [new CopyWebpackPlugin({ patterns: copyPatterns })],
  });
};

export default config;
