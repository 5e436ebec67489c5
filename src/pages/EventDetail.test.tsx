import React from 'react';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { fixtures } from '../__fixtures__/backend';
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
    expect(screen.getByTestId('event-summary')).toHaveTextContent(e.summary);
    expect(screen.getByText(`agent node-a`, { exact: false })).toBeInTheDocument();
    expect(await screen.findByTestId('capture-flamegraph')).toBeInTheDocument();
    expect(screen.getByTestId('kind-legend')).toHaveTextContent(/kernel/);
    // "before" is a diff baseline, not a profile of its own
    expect(screen.queryByRole('radio', { name: /5 s before the trigger/ })).not.toBeInTheDocument();
    expect(fake.calls.find((c) => c.params.format === 'nested')?.params.profile).toBe('cpu');
    const procs = screen.getByTestId('cpu-processes');
    expect(within(procs).getAllByRole('row')[1]).toHaveTextContent('nginx');
    expect(within(procs).getAllByRole('row')[1]).toHaveTextContent('62.1%');
  });

  it('dload: stuck tasks grouped by stack, the known issue, the off-CPU flame graph', async () => {
    installFakeBackend();
    open(fixtures.event.dload.id);
    const section = await screen.findByTestId('stuck-tasks');
    expect(section).toHaveTextContent('Stuck tasks: 9 in 3 distinct stacks');
    expect(section).toHaveTextContent('known issue: jbd2-commit-wait');
    const groups = within(section).getAllByTestId('stack-group');
    expect(groups.map((g) => g.textContent)).toEqual([
      expect.stringContaining('6 tasks in jbd2_log_wait_commit — postgres'),
      expect.stringContaining('2 tasks in wait_for_vfork_done — sh'),
      expect.stringContaining('1 task in io_schedule — java'),
    ]);
    // the biggest group is open: its stack and tasks
    expect(within(section).getByTestId('stack-text')).toHaveTextContent('ext4_sync_file');
    expect(section).toHaveTextContent('blocked up to 2.0 s');
    await userEvent.click(screen.getByText('wait_for_vfork_done'));
    expect(within(section).getAllByTestId('stack-text')).toHaveLength(2);
    expect(await screen.findByTestId('flamegraph-section')).toHaveTextContent('Off-CPU time in D state');
  });

  it('memburst: top growers by growth, per-container memory', async () => {
    installFakeBackend({ 'events/01KB4Z5P6Q7R8S9T0V1W2X3Y4Z/flamegraph': () => fixtures.flamegraph.cpu });
    open(fixtures.event.memburst.id);
    const section = await screen.findByTestId('memory-growers');
    const rows = within(section).getAllByTestId('grower-row');
    expect(rows.map((r) => within(r).getAllByRole('cell')[1].textContent)).toEqual([
      'stress-ng-vm (9001)',
      'node (3107)',
      'redis-server (8123)',
    ]);
    expect(rows[0]).toHaveTextContent('+1.9 GiB');
    expect(section).toHaveTextContent('web-frontend');
  });

  it('iotracing: device, latency histogram, IO by process and by file, stalls', async () => {
    installFakeBackend();
    open(fixtures.event.iotracing.id);
    expect(await screen.findByTestId('io-device')).toHaveTextContent('Device nvme0n1 (259:0)');
    expect(screen.getByTestId('io-device')).toHaveTextContent('w_await 182.0 ms');
    const latency = screen.getByTestId('io-latency');
    expect(within(latency).getAllByTestId('legend-item').map((e) => e.textContent)).toEqual(['read 789', 'write 27482']);
    expect(latency).toHaveTextContent('≤ 64 µs');
    const procs = within(screen.getByTestId('io-processes')).getAllByTestId('io-process-row');
    expect(procs[0]).toHaveTextContent('postgres');
    expect(procs[0]).toHaveTextContent('396.0 MB/s');
    expect(procs[1]).toHaveTextContent('writeback');
    const files = within(screen.getByTestId('io-files')).getAllByTestId('io-file-row');
    expect(files).toHaveLength(4);
    expect(files[0]).toHaveTextContent('/var/lib/postgresql/data/pg_wal/000000010000000A00000042');
    expect(files[0]).toHaveTextContent('direct');
    expect(files[0]).toHaveTextContent('212 ms');
    expect(screen.getByTestId('io-stalls')).toHaveTextContent('postgres (5120) waited 212.0 ms');
    expect(screen.queryByTestId('flamegraph-section')).not.toBeInTheDocument();
  });

  it('cpuidle: the container and an incomplete capture are shown', async () => {
    installFakeBackend();
    open(fixtures.event.cpuidle.id);
    expect(await screen.findByTestId('container-info')).toHaveTextContent('web-frontend');
    expect(screen.getByText('Capture incomplete')).toBeInTheDocument();
    expect(screen.getByText(fixtures.event.cpuidle.error!)).toBeInTheDocument();
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
    await waitFor(() => expect(screen.getByText(/"sys_percent"/)).toBeInTheDocument());
  });
});
