import { PanelPlugin } from '@grafana/data';

import { FlamegraphPanel } from './components/FlamegraphPanel';
import { DEFAULT_OPTIONS, type FlamegraphOptions } from './types';

export const plugin = new PanelPlugin<FlamegraphOptions>(FlamegraphPanel).setPanelOptions((builder) =>
  builder
    .addBooleanSwitch({
      path: 'showHeader',
      name: 'Show trigger header',
      description: 'What crossed which threshold, host, container and processes of the capture',
      defaultValue: DEFAULT_OPTIONS.showHeader,
    })
    .addRadio({
      path: 'colorMode',
      name: 'Colours',
      defaultValue: DEFAULT_OPTIONS.colorMode,
      settings: {
        options: [
          { value: 'kind', label: 'Kernel / user', description: 'By frame kind: kernel, user, JIT, process' },
          { value: 'package', label: 'Package', description: "Grafana's default: by package name" },
        ],
      },
    })
    .addRadio({
      path: 'compareWith',
      name: 'Compare with',
      description: 'Show a diff flame graph against a baseline',
      defaultValue: DEFAULT_OPTIONS.compareWith,
      settings: {
        options: [
          { value: 'none', label: 'Nothing' },
          { value: 'before', label: 'Before the trigger' },
          { value: 'event', label: 'Another event' },
        ],
      },
    })
    .addTextInput({
      path: 'compareEventId',
      name: 'Baseline event',
      description: 'Event id of the baseline capture; template variables work ($baseline)',
      defaultValue: DEFAULT_OPTIONS.compareEventId,
      showIf: (o) => o.compareWith === 'event',
    })
    .addBooleanSwitch({
      path: 'showExport',
      name: 'Export buttons',
      description: 'Download folded stacks, pprof or SVG',
      defaultValue: DEFAULT_OPTIONS.showExport,
    })
    .addBooleanSwitch({
      path: 'showFlameGraphOnly',
      name: 'Flame graph only',
      description: 'Hide the top table',
      defaultValue: DEFAULT_OPTIONS.showFlameGraphOnly,
    })
);
