import React from 'react';
import type { QueryEditorProps } from '@grafana/data';
import { InlineField, RadioButtonGroup } from '@grafana/ui';

import type { AutotracingDataSource } from '../datasource';
import { type AutotracingOptions, type AutotracingQuery, type AutotracingVariableQuery, type ValueKind } from '../types';

export type Props = QueryEditorProps<AutotracingDataSource, AutotracingQuery, AutotracingOptions, AutotracingVariableQuery>;

const kinds: Array<{ label: string; value: ValueKind; description: string }> = [
  { label: 'Hosts', value: 'hosts', description: 'Host names of the agents' },
  { label: 'Types', value: 'types', description: 'Tracer types' },
  { label: 'Containers', value: 'containers', description: 'Containers that had captures in the time range' },
];

export function VariableQueryEditor({ query, onChange }: Props) {
  const kind: ValueKind = query?.kind ?? 'hosts';
  return (
    <InlineField label="Values" labelWidth={14} tooltip="Which values the variable offers">
      <RadioButtonGroup<ValueKind>
        options={kinds}
        value={kind}
        onChange={(v) => onChange({ ...query, refId: query?.refId ?? 'variable', kind: v })}
      />
    </InlineField>
  );
}
