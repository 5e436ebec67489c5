import React from 'react';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  type DataFrame,
  type DataQueryRequest,
  LoadingState,
  type PanelData,
  type PanelProps,
  dateTime,
} from '@grafana/data';
import { type BackendSrv, type DataSourceSrv, setBackendSrv, setDataSourceSrv } from '@grafana/runtime';

import { DS_UID, fakeBackendSrv, fixtures, topProcess } from '../../../__fixtures__/backend';
import { DATASOURCE_ID } from '../../../constants';
import { rowsFromNested, toFlameGraphFrame } from '../frame';
import { DEFAULT_OPTIONS, type FlamegraphOptions } from '../types';
import { FlamegraphPanel } from './FlamegraphPanel';

const cpusys = fixtures.event.cpusys;

function frame(meta: Record<string, unknown> = {}): DataFrame {
  const f = toFlameGraphFrame(rowsFromNested(fixtures.flamegraph.cpu), { unit: 'samples', colorMode: 'package' });
  return { ...f, refId: 'A', meta: { ...f.meta, custom: meta } };
}

function props(
  series: DataFrame[],
  options: Partial<FlamegraphOptions> = {},
  dsType = DATASOURCE_ID
): PanelProps<FlamegraphOptions> {
  const timeRange = { from: dateTime(0), to: dateTime(1), raw: { from: 'now-1h', to: 'now' } };
  const data: PanelData = {
    series,
    state: LoadingState.Done,
    timeRange,
    request: {
      targets: [{ refId: 'A', queryType: 'flamegraph', eventId: '$event', datasource: { type: dsType, uid: DS_UID } }],
    } as unknown as DataQueryRequest,
  };
  return {
    id: 1,
    data,
    timeRange,
    timeZone: 'utc',
    options: { ...DEFAULT_OPTIONS, ...options },
    fieldConfig: { defaults: {}, overrides: [] },
    transparent: false,
    width: 900,
    height: 600,
    renderCounter: 0,
    title: 'Flame graph',
    eventBus: {} as PanelProps['eventBus'],
    onOptionsChange: jest.fn(),
    onFieldConfigChange: jest.fn(),
    onChangeTimeRange: jest.fn(),
    replaceVariables: (s: string) => s.replace('$event', cpusys.id).replace('$baseline', fixtures.event.cpuidle.id),
  } as PanelProps<FlamegraphOptions>;
}

describe('FlamegraphPanel', () => {
  let fake: ReturnType<typeof fakeBackendSrv>;
  beforeEach(() => {
    fake = fakeBackendSrv();
    setBackendSrv(fake.srv as unknown as BackendSrv);
    setDataSourceSrv({
      getInstanceSettings: (ref: { type?: string; uid?: string } | null) => ({ uid: ref?.uid, type: ref?.type }),
    } as unknown as DataSourceSrv);
  });

  it('shows why the capture happened: trigger, host, processes', async () => {
    render(<FlamegraphPanel {...props([frame()])} />);
    expect(await screen.findByTestId('trigger-reason')).toHaveTextContent(cpusys.trigger.reason);
    expect(screen.getByTestId('trigger-line')).toHaveTextContent('manual capture');
    const top = topProcess(cpusys);
    expect(screen.getByTestId('process-context')).toHaveTextContent(
      `${top.comm} (${top.pid}) ${Math.round(top.samplePct)}%`
    );
    expect(screen.getByTestId('event-header')).toHaveTextContent(cpusys.host);
    expect(fake.calls[0]).toMatchObject({ path: `events/${cpusys.id}` });
  });

  it('shows the threshold a detector-triggered capture crossed', async () => {
    const e = fixtures.triggered.find((x) => x.trigger.metric.endsWith('_percent'))!;
    render(<FlamegraphPanel {...props([frame({ eventId: e.id })])} />);
    const line = await screen.findByTestId('trigger-line');
    const pct = (v: number) => `${v.toFixed(1)}%`;
    expect(line).toHaveTextContent(e.trigger.metric);
    expect(line).toHaveTextContent(pct(e.trigger.value));
    expect(line).toHaveTextContent(`${pct(e.trigger.threshold)} threshold`);
    expect(line).toHaveTextContent(`baseline ${pct(e.trigger.baseline)}`);
  });

  it('takes the event from the frame meta when the backend puts it there', async () => {
    const idle = fixtures.event.cpuidle;
    const p = props([frame({ eventId: idle.id, profile: 'cpu' })]);
    render(<FlamegraphPanel {...p} />);
    expect(await screen.findByTestId('trigger-reason')).toHaveTextContent(idle.trigger.reason);
    expect(screen.getByTestId('container-info')).toHaveTextContent(idle.container!.id.slice(0, 12));
  });

  it('colours kernel frames apart from user frames, with a legend, and can switch to package colours', async () => {
    render(<FlamegraphPanel {...props([frame()])} />);
    const legend = screen.getByTestId('kind-legend');
    expect(legend).toHaveTextContent(/kernel \d+%/);
    expect(legend).toHaveTextContent(/user \d+%/);
    await userEvent.click(screen.getByRole('radio', { name: 'Package' }));
    expect(screen.queryByTestId('kind-legend')).not.toBeInTheDocument();
  });

  it('exports pprof, folded and SVG through the datasource', async () => {
    const clicked: string[] = [];
    const click = jest.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (
      this: HTMLAnchorElement
    ) {
      clicked.push(this.download);
    });
    render(<FlamegraphPanel {...props([frame({ profile: 'cpu' })])} />);
    await userEvent.click(screen.getByRole('button', { name: 'pprof' }));
    await userEvent.click(screen.getByRole('button', { name: 'folded' }));
    await userEvent.click(screen.getByRole('button', { name: 'SVG' }));
    await waitFor(() => expect(clicked).toHaveLength(3));
    expect(clicked).toEqual([`${cpusys.id}-cpu.pb.gz`, `${cpusys.id}-cpu.folded.txt`, `${cpusys.id}-cpu.svg`]);
    const exports = fake.calls.filter((c) => c.responseType === 'blob');
    expect(exports.map((c) => c.params.format)).toEqual(['pprof', 'folded', 'svg']);
    expect(exports[0].path).toBe(`events/${cpusys.id}/flamegraph`);
    click.mockRestore();
  });

  it('diffs against the seconds before the trigger', async () => {
    render(<FlamegraphPanel {...props([frame()])} />);
    await userEvent.click(screen.getByRole('radio', { name: 'Before trigger' }));
    expect(await screen.findByText(/Diff: baseline = before the trigger/)).toBeInTheDocument();
    expect(fake.calls.some((c) => c.params.profile === 'before' && c.params.format === 'nested')).toBe(true);
    expect(screen.queryByTestId('kind-legend')).not.toBeInTheDocument();
  });

  it('diffs against another event given in the options (template variables work)', async () => {
    render(<FlamegraphPanel {...props([frame()], { compareWith: 'event', compareEventId: '$baseline' })} />);
    expect(
      await screen.findByText(`Diff: baseline = ${fixtures.event.cpuidle.id}; red = more in this capture`)
    ).toBeInTheDocument();
  });

  it('says so when the baseline cannot be loaded', async () => {
    render(<FlamegraphPanel {...props([frame()], { compareWith: 'event', compareEventId: 'missing' })} />);
    expect(
      await screen.findByText(/Cannot load event missing: event missing not found on any agent/)
    ).toBeInTheDocument();
  });

  it('still draws data from another datasource, without header or export', () => {
    render(<FlamegraphPanel {...props([frame()], {}, 'grafana-testdata-datasource')} />);
    expect(screen.getByTestId('capture-flamegraph')).toBeInTheDocument();
    expect(screen.queryByTestId('event-header')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'pprof' })).toHaveAttribute('aria-disabled', 'true');
    expect(fake.calls).toEqual([]);
  });

  it('explains what to query when there is no flame graph', () => {
    render(<FlamegraphPanel {...props([])} />);
    expect(screen.getByTestId('flamegraph-panel-empty')).toHaveTextContent('Flame graph');
  });
});
