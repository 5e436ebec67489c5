// The ESM build of @grafana/flamegraph ships no type declarations for its internal files; tests import one.
declare module '@grafana/flamegraph/dist/esm/FlameGraph/colors.js' {
  import type { GrafanaTheme2 } from '@grafana/data';
  export function getBarColorByPackage(
    label: string,
    theme: GrafanaTheme2
  ): { toHslString(): string; toRgb(): { r: number; g: number; b: number; a: number } };
}
