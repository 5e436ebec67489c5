/**
 * SystemJS 6 with the extras Grafana 12 loads (public/app/features/plugins/loader/systemjs.ts). Imported LAST
 * by host.tsx: the AMD extra sets a global `define` with `define.amd`, and UMD bundles evaluated after that
 * (lodash is one) would register themselves with it instead of exporting. As Grafana does, plugin sources are
 * wrapped to call `window.__grafana_amd_define` (see host.tsx); the global `define` is then removed.
 */
import 'systemjs/dist/system.js';
import 'systemjs/dist/extras/amd.js';
import 'systemjs/dist/extras/named-register.js';

const w = window as unknown as { define?: unknown; __grafana_amd_define?: unknown };
w.__grafana_amd_define = w.define;
delete w.define;
