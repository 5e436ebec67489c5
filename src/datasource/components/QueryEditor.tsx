import React, { useEffect, useMemo, useState } from 'react';
import type { QueryEditorProps } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import {
  type ComboboxOption,
  InlineField,
  InlineFieldRow,
  Input,
  MultiCombobox,
  RadioButtonGroup,
  Stack,
  Text,
} from '@grafana/ui';

import type { AutotracingDataSource } from '../datasource';
import {
  type AutotracingOptions,
  type AutotracingQuery,
  DEFAULT_QUERY,
  QUERY_FILTERS,
  QUERY_TYPE_INFO,
  QUERY_TYPES,
  type QueryType,
  TRACER_LABELS,
  TRACER_TYPES,
} from '../types';

export type Props = QueryEditorProps<AutotracingDataSource, AutotracingQuery, AutotracingOptions>;

const LABEL_WIDTH = 14;

const queryTypeOptions = QUERY_TYPES.map((t) => ({
  label: QUERY_TYPE_INFO[t].label,
  value: t,
  description: QUERY_TYPE_INFO[t].description,
}));

function variableOptions(): Array<ComboboxOption<string>> {
  try {
    return getTemplateSrv()
      .getVariables()
      .map((v) => ({ label: `$${v.name}`, value: `$${v.name}`, description: 'Template variable' }));
  } catch {
    return [];
  }
}

export function QueryEditor({ query, onChange, onRunQuery, datasource, range }: Props) {
  const q: AutotracingQuery = { ...DEFAULT_QUERY, ...query } as AutotracingQuery;
  const filters = QUERY_FILTERS[q.queryType] ?? QUERY_FILTERS.events;
  const [hosts, setHosts] = useState<Array<ComboboxOption<string>>>([]);
  // text inputs are applied on blur, so that typing does not run a query per key
  const [container, setContainer] = useState(q.container ?? '');
  const [eventId, setEventId] = useState(q.eventId ?? '');
  const [limit, setLimit] = useState(q.limit !== undefined ? String(q.limit) : '');

  const from = range?.from.valueOf();
  const to = range?.to.valueOf();
  useEffect(() => {
    let cancelled = false;
    datasource.resources
      .values('hosts', { from, to })
      .then((res) => !cancelled && setHosts(res.values.map((v) => ({ label: v.text, value: v.value }))))
      .catch(() => !cancelled && setHosts([]));
    return () => {
      cancelled = true;
    };
  }, [datasource, from, to]);

  const vars = useMemo(() => variableOptions(), []);
  const typeOptions = useMemo(
    () => [...TRACER_TYPES.map((t) => ({ label: t, value: t, description: TRACER_LABELS[t] })), ...vars],
    [vars]
  );
  const hostOptions = useMemo(() => [...hosts, ...vars], [hosts, vars]);

  const apply = (next: AutotracingQuery) => {
    onChange(next);
    onRunQuery();
  };

  const setText = (key: 'container' | 'eventId', value: string) => {
    const v = value.trim();
    if ((q[key] ?? '') === v) {
      return;
    }
    const next = { ...q };
    if (v) {
      next[key] = v;
    } else {
      delete next[key];
    }
    apply(next);
  };

  const applyLimit = () => {
    const n = Number(limit);
    const next = { ...q };
    if (limit.trim() === '' || !Number.isInteger(n) || n <= 0) {
      delete next.limit;
      setLimit('');
    } else {
      next.limit = Math.min(n, 10000);
    }
    if (next.limit !== q.limit) {
      apply(next);
    }
  };

  return (
    <Stack direction="column" gap={1}>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={LABEL_WIDTH} tooltip={QUERY_TYPE_INFO[q.queryType]?.description}>
          <RadioButtonGroup<QueryType>
            options={queryTypeOptions}
            value={q.queryType}
            onChange={(v) => apply({ ...q, queryType: v })}
          />
        </InlineField>
      </InlineFieldRow>
      <Text variant="bodySmall" color="secondary">
        {QUERY_TYPE_INFO[q.queryType]?.description}
      </Text>
      <InlineFieldRow>
        {filters.includes('eventId') && (
          <InlineField
            label="Event"
            labelWidth={LABEL_WIDTH}
            tooltip="Event id (ULID); empty: all matching events of the time range"
          >
            <Input
              width={32}
              aria-label="Event id"
              placeholder="01J… or $event"
              value={eventId}
              onChange={(e) => setEventId(e.currentTarget.value)}
              onBlur={() => setText('eventId', eventId)}
            />
          </InlineField>
        )}
        {filters.includes('types') && (
          <InlineField label="Types" labelWidth={LABEL_WIDTH} tooltip="Tracer types; empty: all" htmlFor={`${q.refId}-types`}>
            <MultiCombobox<string>
              id={`${q.refId}-types`}
              width="auto"
              minWidth={24}
              options={typeOptions}
              value={q.types ?? []}
              createCustomValue
              placeholder="All types"
              onChange={(opts) => apply({ ...q, types: opts.map((o) => o.value) })}
            />
          </InlineField>
        )}
        {filters.includes('hosts') && (
          <InlineField label="Hosts" labelWidth={LABEL_WIDTH} tooltip="Hosts; empty: all agents" htmlFor={`${q.refId}-hosts`}>
            <MultiCombobox<string>
              id={`${q.refId}-hosts`}
              width="auto"
              minWidth={24}
              options={hostOptions}
              value={q.hosts ?? []}
              createCustomValue
              placeholder="All hosts"
              onChange={(opts) => apply({ ...q, hosts: opts.map((o) => o.value) })}
            />
          </InlineField>
        )}
      </InlineFieldRow>
      <InlineFieldRow>
        {filters.includes('container') && (
          <InlineField label="Container" labelWidth={LABEL_WIDTH} tooltip="Container id, name or pod; empty: all">
            <Input
              width={32}
              aria-label="Container"
              placeholder="id, name, pod or $container"
              value={container}
              onChange={(e) => setContainer(e.currentTarget.value)}
              onBlur={() => setText('container', container)}
            />
          </InlineField>
        )}
        {q.queryType === 'dstate' && (
          <InlineField label="Rows" labelWidth={LABEL_WIDTH} tooltip="One row per stuck task, or one per distinct kernel stack with counts">
            <RadioButtonGroup<'task' | 'stack'>
              aria-label="dstate rows"
              options={[
                { label: 'Per task', value: 'task' },
                { label: 'Per stack', value: 'stack' },
              ]}
              value={q.by === 'stack' ? 'stack' : 'task'}
              onChange={(v) => apply({ ...q, by: v === 'stack' ? 'stack' : undefined })}
            />
          </InlineField>
        )}
        {filters.includes('limit') && (
          <InlineField label="Limit" labelWidth={LABEL_WIDTH} tooltip="Maximum rows (newest first)">
            <Input
              width={12}
              type="number"
              aria-label="Limit"
              placeholder="100"
              value={limit}
              onChange={(e) => setLimit(e.currentTarget.value)}
              onBlur={applyLimit}
            />
          </InlineField>
        )}
      </InlineFieldRow>
    </Stack>
  );
}
