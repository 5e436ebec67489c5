import React, { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Combobox, IconButton, InlineField, RadioButtonGroup, Stack } from '@grafana/ui';

import type { DatasourceChoice } from './useDatasource';

export const RANGE_PRESETS = {
  '1h': 3600e3,
  '6h': 6 * 3600e3,
  '24h': 24 * 3600e3,
  '7d': 7 * 24 * 3600e3,
  '30d': 30 * 24 * 3600e3,
} as const;
export type RangePreset = keyof typeof RANGE_PRESETS;

export interface PageRange {
  preset: RangePreset;
  from: number;
  to: number;
}

export interface RangeControl {
  range: PageRange;
  setPreset: (p: RangePreset) => void;
  /** move the range's end to now */
  refresh: () => void;
}

/** `?range=6h` in the URL; the range ends at the time the page opened, or was last refreshed. */
export function useRange(defaultPreset: RangePreset = '24h'): RangeControl {
  const [params, setParams] = useSearchParams();
  const [now, setNow] = useState(() => Date.now());
  const raw = params.get('range');
  const preset: RangePreset = raw && raw in RANGE_PRESETS ? (raw as RangePreset) : defaultPreset;
  return {
    range: { preset, from: now - RANGE_PRESETS[preset], to: now },
    setPreset: (p: RangePreset) => {
      const next = new URLSearchParams(params);
      next.set('range', p);
      setParams(next, { replace: true });
      setNow(Date.now());
    },
    refresh: () => setNow(Date.now()),
  };
}

export function PageControls({
  ds,
  range,
  onRange,
  onRefresh,
}: {
  ds: DatasourceChoice;
  range?: PageRange;
  onRange?: (p: RangePreset) => void;
  onRefresh?: () => void;
}) {
  return (
    <Stack direction="row" gap={2} alignItems="center" wrap="wrap">
      {ds.list.length > 1 && (
        <InlineField label="Datasource">
          <Combobox<string>
            width={30}
            options={ds.list.map((d) => ({ label: d.name, value: d.uid }))}
            value={ds.uid}
            onChange={(o) => ds.setUid(o.value)}
          />
        </InlineField>
      )}
      {range && onRange && (
        <RadioButtonGroup<RangePreset>
          size="sm"
          options={(Object.keys(RANGE_PRESETS) as RangePreset[]).map((p) => ({ label: `Last ${p}`, value: p }))}
          value={range.preset}
          onChange={onRange}
        />
      )}
      {onRefresh && <IconButton name="sync" tooltip="Refresh" onClick={onRefresh} />}
    </Stack>
  );
}
