import React, { useState } from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { PluginPage } from '@grafana/runtime';
import { Alert, Badge, LoadingPlaceholder, Text, Tooltip, useStyles2 } from '@grafana/ui';

import { getTableStyles } from '../components/EventsTable';
import { fmtMs, fmtTime } from '../components/format';
import { NoDatasource } from '../components/Notices';
import { PageControls } from '../components/PageControls';
import { useDatasource } from '../components/useDatasource';
import { useLoad } from '../components/useLoad';
import type { AgentStatus } from '../datasource/resources';

interface CapabilityCheck {
  name: string;
  ok: boolean;
  detail?: string;
  required?: boolean;
}

/** The agent's `capabilities.checks` (the probes behind the flags) as one badge: how many passed, the failures in its tooltip. */
function checksBadge(checks: CapabilityCheck[]) {
  const failed = checks.filter((c) => !c.ok);
  const color = failed.some((c) => c.required) ? 'red' : failed.length ? 'orange' : 'green';
  const detail = failed.length
    ? failed.map((c) => `${c.required ? 'required: ' : ''}${c.name}: ${c.detail ?? 'failed'}`).join('\n')
    : 'every check passed';
  return (
    <Tooltip key="checks" content={<pre style={{ whiteSpace: 'pre-wrap', margin: 0 }}>{detail}</pre>}>
      <span data-testid="capability-checks">
        <Badge
          color={color}
          text={`checks ${checks.length - failed.length}/${checks.length}`}
          icon={failed.length ? 'info-circle' : 'check'}
        />
      </span>
    </Tooltip>
  );
}

function capabilityBadges(caps: Record<string, unknown>) {
  const checks = Array.isArray(caps.checks)
    ? (caps.checks as unknown[]).filter((c): c is CapabilityCheck => typeof c === 'object' && c !== null && 'name' in c)
    : null;
  // lists are not flags: the agent's `checks` get a badge of their own
  const flags = Object.entries(caps).filter(([, v]) => !Array.isArray(v));
  const badges = flags.map(([name, v]) => {
    const on = v === true || (typeof v === 'object' && v !== null && (v as { ok?: unknown }).ok === true);
    const detail = typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
    const text = typeof v === 'string' || typeof v === 'number' ? `${name}: ${v}` : name;
    return (
      <Tooltip key={name} content={detail}>
        <span>
          <Badge
            color={on || typeof v === 'string' || typeof v === 'number' ? 'green' : 'red'}
            text={text}
            icon={on ? 'check' : typeof v === 'boolean' ? 'times' : undefined}
          />
        </span>
      </Tooltip>
    );
  });
  return checks ? [...badges, checksBadge(checks)] : badges;
}

type TracerStatus = NonNullable<AgentStatus['tracers']>[number];

/** A tracer: off by config, or what this agent's kernel lets it do (degraded or off, with why in the tooltip). */
function TracerBadge({ t }: { t: TracerStatus }) {
  const mode = t.support?.mode ?? 'full';
  const note = !t.implemented ? ' (n/a)' : !t.enabled ? ' (off)' : mode !== 'full' ? ` (${mode} on this kernel)` : '';
  const color = !t.implemented
    ? 'darkgrey'
    : !t.enabled
      ? 'orange'
      : mode === 'off'
        ? 'red'
        : mode === 'degraded'
          ? 'orange'
          : 'blue';
  const badge = (
    <Badge
      color={color}
      text={`${t.type}${note}`}
      icon={t.enabled && mode !== 'full' ? 'exclamation-triangle' : undefined}
    />
  );
  if (!t.support?.missing.length) {
    return badge;
  }
  return (
    <Tooltip content={<pre style={{ whiteSpace: 'pre-wrap', margin: 0 }}>{t.support.missing.join('\n')}</pre>}>
      <span data-testid={`tracer-support-${t.type}`}>{badge}</span>
    </Tooltip>
  );
}

function AgentRow({ a }: { a: AgentStatus }) {
  const s = useStyles2(getStyles);
  return (
    <tr data-testid="agent-row">
      <td>
        <strong>{a.name}</strong>
        <div>
          <Text color="secondary" variant="bodySmall">
            {a.url}
          </Text>
        </div>
      </td>
      <td>
        {a.ok ? (
          <Badge color="green" icon="heart" text={`OK${a.latencyMs != null ? ` · ${fmtMs(a.latencyMs)}` : ''}`} />
        ) : (
          <span data-testid="agent-error">
            <Badge
              color="red"
              icon="exclamation-triangle"
              text={!a.reachable ? 'unreachable' : !a.authorised ? 'unauthorised' : 'error'}
            />{' '}
            <Text color="error">{a.error ?? 'not answering'}</Text>
          </span>
        )}
      </td>
      <td>{a.host}</td>
      <td>
        {a.version && <div>agent {a.version}</div>}
        {(a.kernel || a.node) && (
          <Text color="secondary" variant="bodySmall">
            {[a.kernel && `kernel ${a.kernel}`, a.node && `node ${a.node}`].filter(Boolean).join(' · ')}
          </Text>
        )}
      </td>
      <td>{a.startedAt != null && fmtTime(a.startedAt)}</td>
      <td className={s.badges}>{a.capabilities && capabilityBadges(a.capabilities)}</td>
      <td className={s.badges}>
        {a.tracers?.map((t) => (
          <TracerBadge key={t.type} t={t} />
        ))}
      </td>
    </tr>
  );
}

/** Agents: health, version, kernel capabilities and tracers. */
export function Agents() {
  const s = useStyles2(getStyles);
  const ds = useDatasource();
  const [refresh, setRefresh] = useState(0);
  const agents = useLoad(() => ds.resources?.agents(), [ds.resources, refresh]);

  if (!ds.resources) {
    return (
      <PluginPage>
        <NoDatasource />
      </PluginPage>
    );
  }
  const list = agents.value?.agents ?? [];
  return (
    <PluginPage actions={<PageControls ds={ds} onRefresh={() => setRefresh((r) => r + 1)} />}>
      <div data-testid="agents-page">
        {agents.error && <Alert title="Agents could not be listed">{agents.error}</Alert>}
        {agents.value?.discoveryError && (
          <Alert severity="warning" title={`DNS discovery of ${agents.value.discovery ?? 'agents'} failed`}>
            {agents.value.discoveryError}
          </Alert>
        )}
        {agents.loading && !agents.value && <LoadingPlaceholder text="Asking the agents…" />}
        {agents.value && list.length === 0 && (
          <Alert severity="info" title="No agents configured">
            Add agents (or a DNS discovery name) in the datasource settings.
          </Alert>
        )}
        {list.length > 0 && (
          <table className={s.table}>
            <thead>
              <tr>
                <th>Agent</th>
                <th>Health</th>
                <th>Host</th>
                <th>Version</th>
                <th>Started</th>
                <th>Capabilities</th>
                <th>Tracers</th>
              </tr>
            </thead>
            <tbody>
              {list.map((a) => (
                <AgentRow key={a.name} a={a} />
              ))}
            </tbody>
          </table>
        )}
      </div>
    </PluginPage>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  table: getTableStyles(theme),
  badges: css({ '& > *': { marginRight: theme.spacing(0.5), marginBottom: theme.spacing(0.5) } }),
});

export default Agents;
