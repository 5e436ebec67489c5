import React from 'react';
import { Link } from 'react-router-dom';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { Badge, Text, useStyles2 } from '@grafana/ui';

import { containerLabel } from '../datasource/evidence';
import type { FleetEvent } from '../datasource/resources';
import { eventUrl } from '../utils/routing';
import { TYPE_BADGE_COLORS } from './EventHeader';
import { fmtMetric, fmtTime } from './format';

export function EventsTable({ events, ds }: { events: FleetEvent[]; ds?: string }) {
  const s = useStyles2(getStyles);
  if (events.length === 0) {
    return <Text color="secondary">No events match.</Text>;
  }
  return (
    <table className={s.table} data-testid="events-table">
      <thead>
        <tr>
          <th>Time</th>
          <th>Type</th>
          <th>Host</th>
          <th>Container</th>
          <th>Trigger</th>
          <th>Summary</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr key={`${e.agent}/${e.id}`}>
            <td className={s.nowrap}>
              <Link to={eventUrl(e.id, { ds, agent: e.agent })}>{fmtTime(e.time)}</Link>
            </td>
            <td>
              <Badge text={e.type} color={TYPE_BADGE_COLORS[e.type] ?? 'blue'} />
            </td>
            <td>{e.host}</td>
            <td title={e.container?.id}>{containerLabel(e.container) || <Text color="secondary">host</Text>}</td>
            <td className={s.nowrap}>
              <code>{e.trigger.metric}</code> {fmtMetric(e.trigger.metric, e.trigger.value)}
            </td>
            <td>
              <Link to={eventUrl(e.id, { ds, agent: e.agent })}>{e.summary}</Link>
            </td>
            <td>{e.status}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export const getTableStyles = (theme: GrafanaTheme2) =>
  css({
    width: '100%',
    borderCollapse: 'collapse',
    fontSize: theme.typography.bodySmall.fontSize,
    'th, td': {
      textAlign: 'left',
      padding: theme.spacing(0.5, 1),
      borderBottom: `1px solid ${theme.colors.border.weak}`,
      verticalAlign: 'top',
    },
    th: {
      color: theme.colors.text.secondary,
      fontWeight: theme.typography.fontWeightMedium,
    },
    'td.num, th.num': { textAlign: 'right', fontVariantNumeric: 'tabular-nums' },
    a: { color: theme.colors.text.link },
  });

const getStyles = (theme: GrafanaTheme2) => ({
  table: getTableStyles(theme),
  nowrap: css({ whiteSpace: 'nowrap' }),
});
