import React from 'react';
import { Link } from 'react-router-dom';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { PluginPage } from '@grafana/runtime';
import { Alert, Badge, Card, LoadingPlaceholder, Stack, Text, useStyles2 } from '@grafana/ui';

import { ROUTES } from '../constants';
import { aggregateCounts, stepFor } from '../components/counts';
import { EventsTable } from '../components/EventsTable';
import { NoDatasource, PartialNotice } from '../components/Notices';
import { PageControls, useRange } from '../components/PageControls';
import { StackedBars } from '../components/StackedBars';
import { useDatasource } from '../components/useDatasource';
import { useLoad } from '../components/useLoad';
import { TYPE_COLORS } from '../datasource/datasource';
import { prefixRoute } from '../utils/routing';

/** Fleet overview: captures over time by type and by host, agent health, the latest events. */
export function Overview() {
  const s = useStyles2(getStyles);
  const ds = useDatasource();
  const { range, setPreset, refresh } = useRange('24h');
  const step = stepFor(range.to - range.from);
  const { resources } = ds;

  const counts = useLoad(
    () => resources?.counts({ from: range.from, to: range.to, stepMs: step, by: 'type' }),
    [resources, range.from, range.to, step]
  );
  const agents = useLoad(() => resources?.agents(), [resources, range.to]);
  const latest = useLoad(
    () => resources?.events({ from: range.from, to: range.to, limit: 10 }),
    [resources, range.from, range.to]
  );

  if (!resources) {
    return (
      <PluginPage>
        <NoDatasource />
      </PluginPage>
    );
  }

  const byType = aggregateCounts(counts.value, 'type');
  const byHost = aggregateCounts(counts.value, 'host');
  byType.series.forEach((sr) => (sr.color = TYPE_COLORS[sr.name]));
  const agentList = agents.value?.agents ?? [];
  const healthy = agentList.filter((a) => a.ok).length;

  return (
    <PluginPage
      actions={<PageControls ds={ds} range={range} onRange={setPreset} onRefresh={refresh} />}
    >
      <div className={s.page} data-testid="overview-page">
        <PartialNotice errors={[...(counts.value?.failed ?? []), ...(latest.value?.errors ?? [])]} />
        {counts.error && <Alert title="Trigger counts could not be loaded">{counts.error}</Alert>}
        <Stack direction="row" gap={2} wrap="wrap">
          <Card className={s.stat}>
            <Card.Heading>Captures</Card.Heading>
            <Card.Description>
              <span className={s.big} data-testid="total-captures">
                {counts.loading && !counts.value ? '…' : byType.total}
              </span>{' '}
              in the last {range.preset}
            </Card.Description>
          </Card>
          <Card className={s.stat} href={prefixRoute(ROUTES.Agents)}>
            <Card.Heading>Agents</Card.Heading>
            <Card.Description>
              {agents.loading && !agents.value ? (
                '…'
              ) : (
                <span data-testid="agents-health">
                  <span className={s.big}>{healthy}</span> of {agentList.length} healthy
                  {agentList
                    .filter((a) => !a.ok)
                    .map((a) => (
                      <Badge key={a.name} color="red" text={a.name} icon="exclamation-triangle" />
                    ))}
                </span>
              )}
            </Card.Description>
          </Card>
          {byType.series.map((sr) => (
            <Card key={sr.name} className={s.stat} href={`${prefixRoute(ROUTES.Events)}?type=${sr.name}&range=${range.preset}`}>
              <Card.Heading>{sr.name}</Card.Heading>
              <Card.Description>
                <span className={s.big}>{sr.values.reduce((a, b) => a + b, 0)}</span>
              </Card.Description>
            </Card>
          ))}
        </Stack>

        {counts.loading && !counts.value ? (
          <LoadingPlaceholder text="Loading trigger counts…" />
        ) : (
          <div className={s.charts}>
            <StackedBars title="Captures over time by type" buckets={byType.buckets} series={byType.series} />
            <StackedBars title="Captures over time by host" buckets={byHost.buckets} series={byHost.series} />
          </div>
        )}

        <Stack direction="row" justifyContent="space-between" alignItems="center">
          <Text element="h3">Latest events</Text>
          <Link to={`${prefixRoute(ROUTES.Events)}?range=${range.preset}`}>All events →</Link>
        </Stack>
        {latest.error && <Alert title="Events could not be loaded">{latest.error}</Alert>}
        {latest.value && <EventsTable events={latest.value.events} ds={ds.uid} />}
      </div>
    </PluginPage>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  page: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(2) }),
  stat: css({ minWidth: 160, flex: '0 0 auto', marginBottom: 0 }),
  big: css({ fontSize: theme.typography.h2.fontSize, color: theme.colors.text.primary }),
  charts: css({
    display: 'grid',
    gridTemplateColumns: 'repeat(auto-fit, minmax(420px, 1fr))',
    gap: theme.spacing(2),
  }),
});

export default Overview;
