import React, { useMemo, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { PluginPage } from '@grafana/runtime';
import { Alert, Button, type ComboboxOption, InlineField, Input, LoadingPlaceholder, MultiCombobox, Stack, useStyles2 } from '@grafana/ui';

import { EventsTable } from '../components/EventsTable';
import { NoDatasource, PartialNotice } from '../components/Notices';
import { PageControls, useRange } from '../components/PageControls';
import { useDatasource } from '../components/useDatasource';
import { useLoad } from '../components/useLoad';
import type { AgentFailure, FleetEvent } from '../datasource/resources';
import { TRACER_LABELS, TRACER_TYPES } from '../datasource/types';

const PAGE_SIZE = 50;

const typeOptions: Array<ComboboxOption<string>> = TRACER_TYPES.map((t) => ({
  label: t,
  value: t,
  description: TRACER_LABELS[t],
}));

const list = (v: string | null) => (v ? v.split(',').filter(Boolean) : []);

/** Events with filters (type, host, container, time range) kept in the URL; rows link to the event page. */
export function Events() {
  const s = useStyles2(getStyles);
  const ds = useDatasource();
  const [params, setParams] = useSearchParams();
  const { range, setPreset, refresh } = useRange('24h');
  const types = useMemo(() => list(params.get('type')), [params]);
  const hosts = useMemo(() => list(params.get('host')), [params]);
  const container = params.get('container') ?? '';
  // the container filter applies on blur/Enter; the draft belongs to the URL value it was typed over
  const [draft, setDraft] = useState<{ over: string; text: string }>();
  const containerInput = draft && draft.over === container ? draft.text : container;
  const setContainerInput = (text: string) => setDraft({ over: container, text });
  const { resources } = ds;

  const setParam = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) {
      next.set(key, value);
    } else {
      next.delete(key);
    }
    setParams(next, { replace: true });
  };

  const hostValues = useLoad(
    () => resources?.values('hosts', { from: range.from, to: range.to }),
    [resources, range.from, range.to]
  );
  const filters = { types, hosts, container: container || undefined, from: range.from, to: range.to, limit: PAGE_SIZE };
  const first = useLoad(
    () => resources?.events(filters),
    [resources, types.join(), hosts.join(), container, range.from, range.to]
  );

  // older pages, appended with the cursor; they belong to the first page they continue
  const [older, setOlder] = useState<{
    after: unknown;
    events: FleetEvent[];
    cursor: string | null;
    errors: AgentFailure[];
  }>();
  const [loadingMore, setLoadingMore] = useState(false);
  const more = older && older.after === first.value ? older : undefined;
  const cursor = more ? more.cursor : (first.value?.nextCursor ?? null);
  const loadMore = async () => {
    if (!resources || !cursor) {
      return;
    }
    setLoadingMore(true);
    try {
      const page = await resources.events({ ...filters, cursor });
      setOlder({
        after: first.value,
        events: [...(more?.events ?? []), ...page.events],
        cursor: page.nextCursor,
        errors: [...(more?.errors ?? []), ...page.errors],
      });
    } finally {
      setLoadingMore(false);
    }
  };

  if (!resources) {
    return (
      <PluginPage>
        <NoDatasource />
      </PluginPage>
    );
  }

  const events = [...(first.value?.events ?? []), ...(more?.events ?? [])];
  const hostOptions: Array<ComboboxOption<string>> = (hostValues.value?.values ?? []).map((v) => ({
    label: v.text,
    value: v.value,
  }));

  return (
    <PluginPage
      actions={<PageControls ds={ds} range={range} onRange={setPreset} onRefresh={refresh} />}
    >
      <div className={s.page} data-testid="events-page">
        <Stack direction="row" gap={1} wrap="wrap" alignItems="center">
          <InlineField label="Types" htmlFor="events-filter-types">
            <MultiCombobox<string>
              id="events-filter-types"
              width="auto"
              minWidth={20}
              options={typeOptions}
              value={types}
              placeholder="All types"
              onChange={(opts) => setParam('type', opts.map((o) => o.value).join(','))}
            />
          </InlineField>
          <InlineField label="Hosts" htmlFor="events-filter-hosts">
            <MultiCombobox<string>
              id="events-filter-hosts"
              width="auto"
              minWidth={20}
              options={hostOptions}
              value={hosts}
              createCustomValue
              placeholder="All hosts"
              onChange={(opts) => setParam('host', opts.map((o) => o.value).join(','))}
            />
          </InlineField>
          <InlineField label="Container">
            <Input
              width={30}
              aria-label="Filter container"
              placeholder="id, name or pod"
              value={containerInput}
              onChange={(e) => setContainerInput(e.currentTarget.value)}
              onBlur={() => setParam('container', containerInput.trim())}
              onKeyDown={(e) => e.key === 'Enter' && setParam('container', containerInput.trim())}
            />
          </InlineField>
        </Stack>
        <PartialNotice errors={[...(first.value?.errors ?? []), ...(more?.errors ?? [])]} />
        {first.error && <Alert title="Events could not be loaded">{first.error}</Alert>}
        {first.loading && !first.value ? (
          <LoadingPlaceholder text="Loading events…" />
        ) : (
          <EventsTable events={events} ds={ds.uid} />
        )}
        {cursor && (
          <div>
            <Button variant="secondary" icon={loadingMore ? 'spinner' : 'angle-down'} onClick={loadMore} disabled={loadingMore}>
              Older events
            </Button>
          </div>
        )}
      </div>
    </PluginPage>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  page: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(2) }),
});

export default Events;
