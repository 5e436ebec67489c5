import React from 'react';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { agentOf, fixtures, topProcess } from '../__fixtures__/backend';
import { installFakeBackend, registerDatasources, renderPage } from '../__fixtures__/render';
import { EventDetail } from './EventDetail';

const open = (id: string) => renderPage(<EventDetail />, `/events/${id}`, 'events/:id');

describe('EventDetail', () => {
  beforeEach(() => registerDatasources());

  it('cpusys: trigger header, flame graph with kind colours and export, processes on CPU', async () => {
    const fake = installFakeBackend();
    const e = fixtures.event.cpusys;
    open(e.id);
    expect(await screen.findByTestId('trigger-reason')).toHaveTextContent(e.trigger.reason);
    // a manual capture: no threshold numbers
    expect(screen.getByTestId('trigger-line')).toHaveTextContent('manual capture (no detector threshold crossed)');
    expect(screen.getByTestId('event-summary')).toHaveTextContent(e.summary);
    expect(screen.getByText(`agent ${agentOf(e.id)}`, { exact: false })).toBeInTheDocument();
    expect(await screen.findByTestId('capture-flamegraph')).toBeInTheDocument();
    expect(screen.getByTestId('kind-legend')).toHaveTextContent(/kernel/);
    // "before" is a diff baseline, not a profile of its own
    expect(screen.queryByRole('radio', { name: /before the trigger/ })).not.toBeInTheDocument();
    expect(fake.calls.find((c) => c.params.format === 'nested')?.params.profile).toBe('cpu');
    const procs = screen.getByTestId('cpu-processes');
    const top = topProcess(e);
    expect(within(procs).getAllByRole('row')[1]).toHaveTextContent(`${top.comm} (${top.pid})`);
    expect(within(procs).getAllByRole('row')[1]).toHaveTextContent(`${top.samplePct.toFixed(1)}%`);
    expect(procs).toHaveTextContent('stress-ng-open');
  });

  it('a detector-triggered capture shows the threshold it crossed', async () => {
    installFakeBackend();
    const e = fixtures.triggered[0];
    open(e.id);
    const line = await screen.findByTestId('trigger-line');
    expect(line).toHaveTextContent(e.trigger.metric);
    expect(line).toHaveTextContent('threshold');
    expect(line).toHaveTextContent('baseline');
  });

  it('dload: stuck tasks grouped by stack, the known issue, the off-CPU flame graph', async () => {
    installFakeBackend();
    const e = fixtures.event.dload;
    open(e.id);
    const groups = (e.data.stackGroups ?? []) as Array<{ count: number; stack: string[]; comms: string[] }>;
    const tasks = (e.data.tasks ?? []) as unknown[];
    const section = await screen.findByTestId('stuck-tasks');
    expect(section).toHaveTextContent(`Stuck tasks: ${tasks.length} in ${groups.length} distinct stack`);
    expect(section).toHaveTextContent(`known issue: ${e.data.knownIssue}`);
    const shown = within(section).getAllByTestId('stack-group');
    // innermost frame (the wait site) named, the agent's stacks being outermost first
    expect(shown[0]).toHaveTextContent(`${groups[0].count} tasks in ${groups[0].stack.at(-1)} — ${groups[0].comms[0]}`);
    // the biggest group is open: its stack and tasks
    expect(within(section).getByTestId('stack-text')).toHaveTextContent(groups[0].stack[0]);
    expect(section).toHaveTextContent(/blocked up to \d/);
    expect(await screen.findByTestId('flamegraph-section')).toHaveTextContent('Off-CPU time in D state');
  });

  it('memburst: top growers by growth, the allocation flame graph', async () => {
    installFakeBackend();
    const e = fixtures.event.memburst;
    open(e.id);
    const section = await screen.findByTestId('memory-growers');
    const rows = within(section).getAllByTestId('grower-row');
    const growers = [...(e.data.topGrowers as Array<{ comm: string; pid: number; rssDeltaBytes: number }>)].sort(
      (a, b) => b.rssDeltaBytes - a.rssDeltaBytes
    );
    expect(rows.map((r) => within(r).getAllByRole('cell')[1].textContent)).toEqual(
      growers.map((g) => `${g.comm} (${g.pid})`)
    );
    expect(rows[0]).toHaveTextContent(/\+\d+(\.\d)? (MiB|GiB)/);
    expect(await screen.findByTestId('flamegraph-section')).toHaveTextContent('Page allocations');
  });

  it('iotracing: device, latency histogram, IO by process and by file', async () => {
    installFakeBackend();
    const e = fixtures.event.iotracing;
    const d = e.data as {
      devices: Array<{
        device: string;
        major: number;
        minor: number;
        traced?: { read?: { bytes: number }; write?: { bytes: number } };
      }>;
      histograms: Array<{ device: string; op: string; count: number }>;
    };
    open(e.id);
    const moved = (x: { traced?: { read?: { bytes: number }; write?: { bytes: number } } }) =>
      (x.traced?.read?.bytes ?? 0) + (x.traced?.write?.bytes ?? 0);
    const dev = [...d.devices].sort((a, b) => moved(b) - moved(a))[0];
    expect(await screen.findByTestId('io-device')).toHaveTextContent(
      `Device ${dev.device} (${dev.major}:${dev.minor})`
    );
    const latency = screen.getByTestId('io-latency');
    const ops = d.histograms.filter((h) => h.device === dev.device);
    expect(
      within(latency)
        .getAllByTestId('legend-item')
        .map((x) => x.textContent)
    ).toEqual(ops.map((h) => `${h.op} ${ops.find((o) => o.op === h.op)!.count}`));
    const procs = within(screen.getByTestId('io-processes')).getAllByTestId('io-process-row');
    expect(procs.some((p) => /stress-ng-hdd/.test(p.textContent ?? ''))).toBe(true);
    expect(procs.some((p) => /writeback/.test(p.textContent ?? ''))).toBe(true);
    const files = within(screen.getByTestId('io-files')).getAllByTestId('io-file-row');
    expect(files.some((f) => /stress-ng-hdd/.test(f.textContent ?? ''))).toBe(true);
    expect(screen.queryByTestId('flamegraph-section')).not.toBeInTheDocument();
  });

  it('cpuidle: the container of the capture', async () => {
    installFakeBackend();
    const e = fixtures.event.cpuidle;
    open(e.id);
    expect(await screen.findByTestId('container-info')).toHaveTextContent(e.container!.id.slice(0, 12));
    expect(screen.getByTestId('cpu-processes')).toHaveTextContent(topProcess(e).comm);
  });

  it('an incomplete capture says why', async () => {
    // the recorded captures all completed; this is the agent's message when a container's cgroup goes away
    const e = fixtures.event.cpuidle;
    const error = `the cgroup of container ${e.container!.id.slice(0, 12)} vanished during the capture (${e.container!.cgroup})`;
    installFakeBackend({ [`events/${e.id}`]: () => ({ ...e, status: 'partial', error }) });
    open(e.id);
    expect(await screen.findByText('Capture incomplete')).toBeInTheDocument();
    expect(screen.getByText(error)).toBeInTheDocument();
  });

  it('says when the event cannot be found', async () => {
    installFakeBackend();
    open('01NOTHERE');
    expect(await screen.findByText('event 01NOTHERE not found on any agent')).toBeInTheDocument();
  });

  it('says when a capture holds no evidence', async () => {
    installFakeBackend({
      'events/01EMPTY': () => ({ ...fixtures.event.cpusys, id: '01EMPTY', status: 'capturing', data: {} }),
    });
    open('01EMPTY');
    expect(await screen.findByText('The capture is still running.')).toBeInTheDocument();
  });

  it('has the raw event for debugging', async () => {
    installFakeBackend();
    open(fixtures.event.cpusys.id);
    await userEvent.click(await screen.findByText('Raw event (JSON)'));
    await waitFor(() => expect(screen.getByText(/"topProcesses"/)).toBeInTheDocument());
  });
});
