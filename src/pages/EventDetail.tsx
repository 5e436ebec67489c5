import React, { useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { PluginPage } from '@grafana/runtime';
import { Alert, Collapse, LoadingPlaceholder, Text, useStyles2 } from '@grafana/ui';

import { ROUTES } from '../constants';
import { EventHeader } from '../components/EventHeader';
import { CpuProcesses, FlameGraphSection, IoEvidence, MemoryGrowers, StuckTasks } from '../components/Evidence';
import { NoDatasource } from '../components/Notices';
import { useDatasource } from '../components/useDatasource';
import { useLoad } from '../components/useLoad';
import { parseEvidence } from '../datasource/evidence';
import { prefixRoute } from '../utils/routing';

/** One capture: why it fired, where, and the evidence of its type. */
export function EventDetail() {
  const s = useStyles2(getStyles);
  const { id = '' } = useParams<{ id: string }>();
  const ds = useDatasource();
  const { resources } = ds;
  const event = useLoad(() => (id ? resources?.event(id) : undefined), [resources, id]);
  const [showRaw, setShowRaw] = useState(false);

  if (!resources) {
    return (
      <PluginPage>
        <NoDatasource />
      </PluginPage>
    );
  }
  const e = event.value;
  const ev = e ? parseEvidence(e.data) : undefined;
  const hasEvidence =
    ev &&
    (ev.flamegraphs.some((f) => f.name !== 'before') ||
      ev.cpuProcesses.length ||
      ev.tasks.length ||
      ev.growers.length ||
      ev.ioProcesses.length ||
      ev.device);

  return (
    <PluginPage>
      <div data-testid="event-detail-page">
        <Text color="secondary">
          <Link to={`${prefixRoute(ROUTES.Events)}${ds.uid ? `?ds=${ds.uid}` : ''}`}>← Events</Link> · {id}
          {e && ` · agent ${e.agent}`}
        </Text>
        {event.error && <Alert title={`Event ${id} could not be loaded`}>{event.error}</Alert>}
        {event.loading && !e && <LoadingPlaceholder text="Loading event…" />}
        {e && ev && (
          <>
            <EventHeader event={e} />
            <p className={s.summary} data-testid="event-summary">
              {e.summary}
            </p>
            {ev.flamegraphs.length > 0 && <FlameGraphSection event={e} refs={ev.flamegraphs} resources={resources} />}
            {ev.cpuProcesses.length > 0 && <CpuProcesses processes={ev.cpuProcesses} />}
            {ev.tasks.length > 0 && <StuckTasks tasks={ev.tasks} knownIssue={ev.knownIssue} />}
            {ev.growers.length > 0 && <MemoryGrowers growers={ev.growers} containers={ev.containerMemory} />}
            {(ev.ioProcesses.length > 0 || ev.device) && (
              <IoEvidence device={ev.device} processes={ev.ioProcesses} latency={ev.latency} stalls={ev.stalls} />
            )}
            {!hasEvidence && (
              <Alert severity="info" title="No evidence in this capture">
                {e.status === 'capturing' ? 'The capture is still running.' : 'The agent stored no evidence for it.'}
              </Alert>
            )}
            <Collapse label="Raw event (JSON)" isOpen={showRaw} onToggle={() => setShowRaw(!showRaw)}>
              <pre className={s.raw}>{JSON.stringify(e, null, 2)}</pre>
            </Collapse>
          </>
        )}
      </div>
    </PluginPage>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  summary: css({ margin: theme.spacing(1, 0, 2) }),
  raw: css({ maxHeight: 480, overflow: 'auto', fontSize: theme.typography.bodySmall.fontSize }),
});

export default EventDetail;
