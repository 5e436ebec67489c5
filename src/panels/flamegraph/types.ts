import type { CompareMode } from '../../components/CaptureFlameGraph';
import type { ColorMode } from './frame';

export interface FlamegraphOptions {
  /** trigger, host, container and processes above the flame graph */
  showHeader: boolean;
  colorMode: ColorMode;
  compareWith: CompareMode;
  /** baseline event for compareWith = 'event'; may be a template variable */
  compareEventId?: string;
  showExport: boolean;
  /** hide the top table */
  showFlameGraphOnly: boolean;
}

export const DEFAULT_OPTIONS: FlamegraphOptions = {
  showHeader: true,
  colorMode: 'kind',
  compareWith: 'none',
  compareEventId: '',
  showExport: true,
  showFlameGraphOnly: false,
};
